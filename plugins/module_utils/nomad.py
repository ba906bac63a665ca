# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for the Nomad HTTP API, on Ansible's open_url.

Errors carry the HTTP status and Nomad's own message, on one line.
"""

from __future__ import annotations

import json
import ssl
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import open_url


def _skip_verify_fallback():
    value = env_fallback("NOMAD_SKIP_VERIFY")
    return value.lower() not in ("1", "true", "yes")


def nomad_argument_spec():
    """The connection options every Nomad module takes (doc fragment mlops.stack.nomad)."""
    return dict(
        address=dict(type="str", default="http://127.0.0.1:4646", fallback=(env_fallback, ["NOMAD_ADDR"])),
        token=dict(type="str", no_log=True, fallback=(env_fallback, ["NOMAD_TOKEN"])),
        ca_cert=dict(type="path", fallback=(env_fallback, ["NOMAD_CACERT"])),
        client_cert=dict(type="path", fallback=(env_fallback, ["NOMAD_CLIENT_CERT"])),
        client_key=dict(type="path", no_log=False, fallback=(env_fallback, ["NOMAD_CLIENT_KEY"])),
        validate_certs=dict(type="bool", default=True, fallback=(_skip_verify_fallback,)),
        timeout=dict(type="int", default=30),
        namespace=dict(type="str", fallback=(env_fallback, ["NOMAD_NAMESPACE"])),
        region=dict(type="str", fallback=(env_fallback, ["NOMAD_REGION"])),
    )


def one_line(text, limit=2000):
    """Nomad's messages on one line (they can span several)."""
    text = " ".join(to_text(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class NomadAPIError(Exception):
    """A failed API request: status is None when Nomad could not be reached."""

    def __init__(self, method, url, status, message):
        self.method = method
        self.url = url
        self.status = status
        self.message = message
        super().__init__(str(self))

    def __str__(self):
        if self.status is None:
            return "Nomad at %s is unreachable: %s" % (self.url, self.message)
        return "Nomad API %s %s answered HTTP %s: %s" % (self.method, self.url, self.status, self.message)


class NomadClient:
    """Requests to one Nomad API with the module's connection options."""

    def __init__(self, params):
        self.address = params["address"].rstrip("/")
        self.token = params.get("token")
        self.ca_cert = params.get("ca_cert")
        self.client_cert = params.get("client_cert")
        self.client_key = params.get("client_key")
        self.validate_certs = params.get("validate_certs", True)
        self.timeout = params.get("timeout", 30)
        self.namespace = params.get("namespace")
        self.region = params.get("region")

    def url(self, path, query=None):
        query = dict(query or {})
        if self.namespace:
            query.setdefault("namespace", self.namespace)
        if self.region:
            query.setdefault("region", self.region)
        url = "%s/v1/%s" % (self.address, path.lstrip("/"))
        return url + ("?" + urlencode(query) if query else "")

    def request(self, method, path, body=None, query=None, missing_ok=False):
        """The decoded JSON answer (None for an empty one, or for 404 when missing_ok)."""
        url = self.url(path, query)
        headers = {"Accept": "application/json"}
        if self.token:
            headers["X-Nomad-Token"] = self.token
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            response = open_url(
                url, method=method, data=data, headers=headers, validate_certs=self.validate_certs,
                timeout=self.timeout, ca_path=self.ca_cert, client_cert=self.client_cert,
                client_key=self.client_key, follow_redirects="safe",
            )  # fmt: skip
            raw = response.read()
        except HTTPError as error:
            if missing_ok and error.code == 404:
                return None
            try:
                message = error.read()
            except Exception:  # the body is gone: keep the reason
                message = b""
            raise NomadAPIError(method, url, error.code, one_line(message) or to_text(error.reason)) from None
        except (OSError, URLError, ssl.SSLError, ValueError) as error:
            raise NomadAPIError(method, url, None, one_line(getattr(error, "reason", error))) from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise NomadAPIError(method, url, 200, "not JSON: %s" % one_line(raw, 200)) from None

    def job_path(self, job_id, *rest):
        return "/".join(["job", quote(job_id, safe=""), *rest])
