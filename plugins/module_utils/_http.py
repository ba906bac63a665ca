# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection's API clients share: one-line messages and one JSON request on open_url.

Private to the collection (the leading underscore): each API has its own client on top of it
(module_utils/consul.py, nomad.py, grafana.py).
"""

from __future__ import annotations

import json
import ssl
import time
from urllib.error import HTTPError, URLError

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import open_url


def one_line(text, limit=2000):
    """A server's message on one line (they can span several), cut at limit characters."""
    text = " ".join(to_text(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class APIError(Exception):
    """A failed request to SERVICE: status is None when it could not be reached."""

    service = "the API"

    def __init__(self, method, url, status, message):
        self.method = method
        self.url = url
        self.status = status
        self.message = message
        super().__init__(str(self))

    def __str__(self):
        if self.status is None:
            return "%s at %s is unreachable: %s" % (self.service, self.url, self.message)
        return "%s API %s %s answered HTTP %s: %s" % (self.service, self.method, self.url, self.status, self.message)


def plain_message(body, reason=""):
    """An error body on one line, else the HTTP reason."""
    return one_line(body) or to_text(reason)


def request_json(error_class, method, url, headers=None, body=None, missing_ok=False, opener=None,
                 message=plain_message, **tls):
    """The decoded JSON answer (None for an empty one, or for 404 when missing_ok).

    tls: validate_certs, ca_path, client_cert, client_key, timeout (as open_url takes them); or opener, a
    callable taking (method, url, data, headers) for a client that opens its own way (auth, a kept TLS
    context). message(body, reason) turns an error body into the server's message.
    Errors raise error_class (an APIError) with the status and that message on one line.
    """
    headers = dict(headers or {}, Accept="application/json")
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    try:
        if opener is None:
            response = open_url(url, method=method, data=data, headers=headers, follow_redirects="safe", **tls)
        else:
            response = opener(method, url, data, headers)
        raw = response.read()
    except HTTPError as error:
        if missing_ok and error.code == 404:
            return None
        try:
            body_text = error.read()
        except Exception:  # the body is gone: keep the reason
            body_text = b""
        raise error_class(method, url, error.code, message(body_text, error.reason)) from None
    except (OSError, URLError, ssl.SSLError, ValueError) as error:
        raise error_class(method, url, None, one_line(getattr(error, "reason", error))) from None
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise error_class(method, url, 200, "not JSON: %s" % one_line(raw, 200)) from None


def with_retries(call, transient, timeout, pause=1.0, clock=time.monotonic, sleep=time.sleep):
    """call()'s result, calling again while it raises an APIError that transient(error) accepts.

    For the moments a cluster cannot answer yet (no leader elected, the API not up): at most timeout seconds,
    then the last error is raised; any other error is raised at once.
    """
    deadline = clock() + timeout
    while True:
        try:
            return call()
        except APIError as error:
            if not transient(error) or clock() > deadline:
                raise
        sleep(pause)
