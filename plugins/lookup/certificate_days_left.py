# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_days_left: how long PEM certificates on the controller stay valid, without a module run."""

from __future__ import annotations

DOCUMENTATION = r"""
name: certificate_days_left
short_description: Days until each PEM certificate on the controller expires
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Reads each certificate in the controller's own process and returns the days (a float) until its C(notAfter);
    negative once it has expired.
  - The roles compare it with their renewal threshold (C(consul_tls_renew_days), C(nomad_tls_renew_days)) and issue a
    host certificate again only when it is that close to its end, so an unchanged controller costs no module run.
options:
  _terms:
    description: Paths of PEM certificates on the controller (the first certificate of each file counts).
    type: list
    elements: path
    required: true
requirements:
  - cryptography (a dependency of ansible-core)
"""

EXAMPLES = r"""
- name: Issue the certificate again when it expires within 30 days
  ansible.builtin.include_tasks: issue.yml
  when: query('mlops.stack.certificate_days_left', '/srv/secrets/host.crt') | first < 30
"""

RETURN = r"""
_raw:
  description: The days left for each path, in the order given.
  type: list
  elements: float
"""

import datetime

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

try:
    from cryptography import x509
except ImportError:  # pragma: no cover - ansible-core depends on cryptography
    x509 = None


def days_left(pem, now=None):
    """Days from now until the first certificate in pem (bytes) expires."""
    certificate = x509.load_pem_x509_certificate(pem)
    try:
        not_after = certificate.not_valid_after_utc
    except AttributeError:  # cryptography < 42
        not_after = certificate.not_valid_after.replace(tzinfo=datetime.UTC)
    now = now or datetime.datetime.now(datetime.UTC)
    return (not_after - now).total_seconds() / 86400


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if x509 is None:
            raise AnsibleLookupError("certificate_days_left needs the Python package cryptography on the controller")
        self.set_options(var_options=variables, direct=kwargs)
        result = []
        for term in terms:
            if not isinstance(term, str) or not term:
                raise AnsibleLookupError("certificate_days_left: each term must be a path, not %r" % (term,))
            try:
                with open(term, "rb") as handle:
                    pem = handle.read()
                result.append(days_left(pem))
            except OSError as error:
                raise AnsibleLookupError("certificate_days_left: cannot read %s: %s" % (term, error)) from error
            except ValueError as error:
                message = "certificate_days_left: %s is not a PEM certificate: %s" % (term, error)
                raise AnsibleLookupError(message) from error
        return result
