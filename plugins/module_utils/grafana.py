# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for Grafana's HTTP API, on Ansible's open_url machinery (its Request class).

Errors carry the HTTP status and Grafana's own ``message``, on one line. The
pure rules the modules share (uids, dashboard normalisation, ``__inputs``
substitution) are in module_utils.dashboard_json, which the controller's filters
import without this client's HTTP machinery.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import Request, make_context
from ansible_collections.mlops.stack.plugins.module_utils._http import APIError, one_line, request_json


def grafana_argument_spec():
    """The connection options every Grafana module takes (doc fragment mlops.stack.grafana)."""
    return dict(
        url=dict(type="str", default="http://127.0.0.1:3000", fallback=(env_fallback, ["GRAFANA_URL"])),
        url_username=dict(type="str", default="admin", fallback=(env_fallback, ["GRAFANA_USER"])),
        url_password=dict(type="str", no_log=True, fallback=(env_fallback, ["GRAFANA_PASSWORD"])),
        token=dict(type="str", no_log=True, fallback=(env_fallback, ["GRAFANA_TOKEN"])),
        org_id=dict(type="int"),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path", no_log=False),
        timeout=dict(type="int", default=30),
    )


def error_message(body, reason=""):
    """Grafana's ``message`` from an error body; the body itself when it is not Grafana's JSON."""
    text = to_text(body or b"", errors="surrogate_or_replace").strip()
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and isinstance(decoded.get("message"), str) and decoded["message"]:
        return one_line(decoded["message"])
    return one_line(text) or one_line(reason) or "no message"


class GrafanaAPIError(APIError):
    """A failed Grafana API request: status is None when Grafana could not be reached."""

    service = "Grafana"

    def explained(self, note):
        """The same error with a note on what it means here (status and Grafana's message kept)."""
        return GrafanaAPIError(self.method, self.url, self.status, "%s; %s" % (self.message, note))


class GrafanaClient:
    """Requests to one Grafana HTTP API with the module's connection options.

    A service-account token (Bearer) wins over basic auth; basic auth is sent
    only when both url_username and url_password are set.
    """

    def __init__(self, params):
        self.base_url = params["url"].rstrip("/")
        self.token = params.get("token")
        self.username = params.get("url_username")
        self.password = params.get("url_password")
        self.org_id = params.get("org_id")
        self.validate_certs = params.get("validate_certs", True)
        self.ca_path = params.get("ca_path")
        self.client_cert = params.get("client_cert")
        self.client_key = params.get("client_key")
        self.timeout = params.get("timeout", 30)
        self._tls_context = None

    def tls_context(self):
        """One TLS context for all of this client's requests (loading the CA certificates once)."""
        if self._tls_context is None:
            self._tls_context = make_context(
                cafile=self.ca_path, validate_certs=self.validate_certs, client_cert=self.client_cert,
                client_key=self.client_key,
            )  # fmt: skip
        return self._tls_context

    def request(self, method, path, body=None, query=None, missing_ok=False):
        """The decoded JSON answer (None for an empty one, or for 404 when missing_ok)."""
        url = self.base_url + path + ("?" + urlencode(query, doseq=True) if query else "")
        headers = {}
        if self.token:
            headers["Authorization"] = "Bearer %s" % self.token
        if self.org_id is not None:
            headers["X-Grafana-Org-Id"] = str(self.org_id)
        basic = not self.token and bool(self.username) and self.password is not None

        def opener(method, url, data, headers):
            return Request().open(
                method, url, data=data, headers=headers, timeout=self.timeout, context=self.tls_context(),
                url_username=self.username if basic else None, url_password=self.password if basic else None,
                force_basic_auth=basic, use_netrc=False, follow_redirects="safe",
            )  # fmt: skip

        return request_json(GrafanaAPIError, method, url, headers=headers, body=body, missing_ok=missing_ok,
                            opener=opener, message=error_message)

    # Folders (nested folders: parentUid).
    def get_folder(self, uid):
        return self.request("GET", "/api/folders/%s" % quote(uid, safe=""), missing_ok=True)

    def create_folder(self, uid, title, parent_uid=None):
        body = {"uid": uid, "title": title}
        if parent_uid:
            body["parentUid"] = parent_uid
        return self.request("POST", "/api/folders", body)

    def update_folder(self, uid, title, version):
        return self.request("PUT", "/api/folders/%s" % quote(uid, safe=""), {"title": title, "version": version})

    def move_folder(self, uid, parent_uid):
        return self.request("POST", "/api/folders/%s/move" % quote(uid, safe=""), {"parentUid": parent_uid or ""})

    def delete_folder(self, uid, force_delete_rules=False):
        query = {"forceDeleteRules": "true"} if force_delete_rules else None
        return self.request("DELETE", "/api/folders/%s" % quote(uid, safe=""), query=query)

    # Dashboards.
    def get_dashboard(self, uid):
        return self.request("GET", "/api/dashboards/uid/%s" % quote(uid, safe=""), missing_ok=True)

    def save_dashboard(self, dashboard, folder_uid, overwrite, message=None):
        body = {"dashboard": dashboard, "folderUid": folder_uid or "", "overwrite": overwrite}
        if message:
            body["message"] = message
        return self.request("POST", "/api/dashboards/db", body)

    def delete_dashboard(self, uid):
        return self.request("DELETE", "/api/dashboards/uid/%s" % quote(uid, safe=""))

    # Datasources.
    def get_datasource(self, uid):
        return self.request("GET", "/api/datasources/uid/%s" % quote(uid, safe=""), missing_ok=True)

    def get_datasource_by_name(self, name):
        return self.request("GET", "/api/datasources/name/%s" % quote(name, safe=""), missing_ok=True)

    def create_datasource(self, body):
        return self.request("POST", "/api/datasources", body)

    def update_datasource(self, uid, body):
        return self.request("PUT", "/api/datasources/uid/%s" % quote(uid, safe=""), body)

    def delete_datasource(self, uid):
        return self.request("DELETE", "/api/datasources/uid/%s" % quote(uid, safe=""))


def run_manager(module, manager_class):
    """Run a module's manager on one Grafana client and exit with its result.

    Grafana's errors fail with its HTTP status and message; bad input found
    by the manager (ValueError, RuntimeError) fails with the manager's words.
    """
    try:
        result = manager_class(module, GrafanaClient(module.params)).run()
    except GrafanaAPIError as error:
        module.fail_json(msg=str(error), status=error.status)
    except (ValueError, RuntimeError) as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)
