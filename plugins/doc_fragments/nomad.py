# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the Nomad modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  address:
    description:
      - Address of the Nomad HTTP API.
      - Falls back to the E(NOMAD_ADDR) environment variable.
    type: str
    default: http://127.0.0.1:4646
  token:
    description:
      - ACL token (sent as C(X-Nomad-Token)).
      - Falls back to E(NOMAD_TOKEN).
    type: str
  ca_cert:
    description:
      - CA certificate to verify the API's TLS certificate with.
      - Falls back to E(NOMAD_CACERT).
    type: path
  client_cert:
    description:
      - Client certificate to present (HTTPS APIs that verify clients).
      - Falls back to E(NOMAD_CLIENT_CERT).
    type: path
  client_key:
    description:
      - Key of O(client_cert).
      - Falls back to E(NOMAD_CLIENT_KEY).
    type: path
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate.
      - Falls back to E(NOMAD_SKIP_VERIFY) (when that is true, certificates are not verified).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each API response.
    type: int
    default: 30
  namespace:
    description:
      - Namespace of the job.
      - Falls back to E(NOMAD_NAMESPACE).
    type: str
  region:
    description:
      - Region to send the requests to.
      - Falls back to E(NOMAD_REGION).
    type: str
notes:
  - Runs where the task runs (usually the controller, with C(delegate_to) or a C(localhost) play); it needs only
    Python's standard library there.
"""
