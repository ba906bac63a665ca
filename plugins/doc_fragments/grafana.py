# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the Grafana modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of Grafana (with its sub-path when Grafana is served under one).
      - Falls back to the E(GRAFANA_URL) environment variable.
    type: str
    default: http://127.0.0.1:3000
  url_username:
    description:
      - User for HTTP basic auth. Basic auth is used when O(url_password) is set and O(token) is not.
      - Falls back to E(GRAFANA_USER).
    type: str
    default: admin
  url_password:
    description:
      - Password for HTTP basic auth.
      - Falls back to E(GRAFANA_PASSWORD).
      - Grafana locks a user out for five minutes after five failed logins, so a wrong password in a loop locks
        the admin out.
    type: str
  token:
    description:
      - Service-account token (C(glsa_...)), sent as a C(Bearer) token in the C(Authorization) header. When set,
        basic auth is not used.
      - Falls back to E(GRAFANA_TOKEN).
    type: str
  org_id:
    description: Organisation to act in (sent as C(X-Grafana-Org-Id)); the user's current one when not set.
    type: int
  validate_certs:
    description: Whether to verify Grafana's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: CA certificate (PEM) to verify Grafana's TLS certificate with.
    type: path
  client_cert:
    description: Client certificate (PEM) to present, for a Grafana behind a proxy that verifies clients.
    type: path
  client_key:
    description: Key of O(client_cert).
    type: path
  timeout:
    description: Seconds to wait for each API response.
    type: int
    default: 30
notes:
  - Runs where the task runs (usually the controller, with C(delegate_to) or a C(localhost) play); it needs only
    Python's standard library there.
  - Every API error is reported with Grafana's HTTP status and its own C(message).
"""
