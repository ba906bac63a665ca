# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""controller_probe: host_probe's look at paths, on the controller, without a module run."""

from __future__ import annotations

DOCUMENTATION = r"""
name: controller_probe
short_description: Read paths on the controller the way M(mlops.stack.host_probe) reads them on a host
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Returns one dict shaped like a M(mlops.stack.host_probe) result (C(files) by path), for the
    P(mlops.stack.probe_drift#filter) filter, read in the controller's own process.
  - A role checks the controller-side folders and files it keeps (secrets) with it, so an unchanged controller
    costs no module run, and only what differs is written.
options:
  _terms:
    description: Paths on the controller.
    type: list
    elements: path
    required: true
  checksum_max_size:
    description: Files up to this size get a SHA1 C(checksum).
    type: int
    default: 4194304
notes:
  - Use it with C(query) (or C(lookup) and C(wantlist=true)); the result is a list of one dict.
"""

EXAMPLES = r"""
- name: Create the secrets folder only when it is missing or not private
  ansible.builtin.file:
    path: "{{ item }}"
    state: directory
    mode: "0700"
  loop: "{{ query('mlops.stack.controller_probe', secrets) | first | mlops.stack.probe_drift(wanted) }}"
  vars:
    secrets: "{{ playbook_dir }}/.secrets"
    wanted: [{path: "{{ playbook_dir }}/.secrets", type: directory, mode: "0700"}]
  delegate_to: localhost
"""

RETURN = r"""
_raw:
  description: One dict with C(files), each path's C(exists), C(type), C(owner), C(group), C(mode), C(size),
    C(writable) (by this user) and C(link_target) or C(checksum), as M(mlops.stack.host_probe) returns them.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.mlops.stack.plugins.module_utils.probe import read_path


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        limit = self.get_option("checksum_max_size")
        files = {}
        for term in terms:
            if not isinstance(term, str) or not term:
                raise AnsibleLookupError("controller_probe: each term must be a path, not %r" % (term,))
            try:
                files[term] = read_path(term, limit)
            except OSError as error:
                raise AnsibleLookupError("controller_probe: cannot read %s: %s" % (term, error)) from error
        return [{"files": files}]
