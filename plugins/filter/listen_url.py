# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""listen_url: the local URL of a service from its listen address."""

from __future__ import annotations

DOCUMENTATION = r"""
name: listen_url
short_description: The URL a service answers on locally, from its listen address
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Turns a listen address (C(host:port), C(:port), C([v6]:port)) into the URL the host itself reaches the service at.
  - A wildcard or empty host (C(0.0.0.0), C(::), none) becomes C(127.0.0.1); an IPv6 host is bracketed.
positional: scheme
options:
  _input:
    description: The listen address.
    type: str
    required: true
  scheme:
    description: URL scheme.
    type: str
    default: http
"""

EXAMPLES = r"""
- name: Probe the Pushgateway where it listens
  ansible.builtin.uri:
    url: "{{ '0.0.0.0:9091' | mlops.stack.listen_url }}/-/ready"  # http://127.0.0.1:9091/-/ready
"""

RETURN = r"""
_value:
  description: The URL, without a trailing slash.
  type: str
"""

from ansible.errors import AnsibleFilterError

# Listen addresses that mean "every interface" (answered on loopback).
WILDCARDS = ("", "0.0.0.0", "::", "[::]")  # noqa: S104


def listen_url(address, scheme="http"):
    address = str(address).strip()
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise AnsibleFilterError("listen_url: %r is not a listen address of the form host:port" % address)
    host = host.strip("[]") if host not in WILDCARDS else ""
    if not host:
        host = "127.0.0.1"
    elif ":" in host:
        host = "[%s]" % host
    return "%s://%s:%s" % (scheme, host, port)


class FilterModule:
    def filters(self):
        return {"listen_url": listen_url}
