# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""monitoring_password: the web password of a monitoring program, generated once on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: monitoring_password
short_description: The web password of the Pushgateway or Prometheus, generated once on the controller
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Returns the password kept in C(<secrets_dir>/monitoring/<program>.password), writing 32 random letters and digits
    there (mode 0600) the first time, so that the program's role and every role that talks to it read the same value
    and a re-run never rotates it.
  - It is the one place that names that file; the roles of the Pushgateway, Prometheus, the registry, Grafana and the
    ML workload use it for their defaults.
  - The file is written and read by C(ansible.builtin.password).
options:
  _terms:
    description: The program, C(pushgateway), C(prometheus) or C(registry).
    type: list
    elements: str
    required: true
  secrets_dir:
    description: The controller's secrets folder (the roles' C(*_secrets_dir)).
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Push with the Pushgateway's password
  ansible.builtin.uri:
    url: https://pushgateway.service.consul:9091/metrics/job/example
    method: PUT
    url_username: mlops
    url_password: "{{ lookup('mlops.stack.monitoring_password', 'pushgateway', secrets_dir=secrets) }}"
    force_basic_auth: true
  vars:
    secrets: "{{ inventory_dir }}/.secrets"
  no_log: true
"""

RETURN = r"""
_raw:
  description: The password of each program, in the order given.
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase

PROGRAMS = ("pushgateway", "prometheus", "registry")


def password_file(secrets_dir, program):
    """Where program's password lives under secrets_dir."""
    if program not in PROGRAMS:
        message = "monitoring_password: the program must be one of %s, not %r" % (", ".join(PROGRAMS), program)
        raise AnsibleLookupError(message)
    return os.path.join(secrets_dir, "monitoring", program + ".password")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        secrets_dir = self.get_option("secrets_dir")
        password = lookup_loader.get("ansible.builtin.password", loader=self._loader, templar=self._templar)
        return [
            password.run(
                [password_file(secrets_dir, program)], variables, length=32, chars=["ascii_letters", "digits"]
            )[0]
            for program in terms
        ]
