# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""web_config: the web configuration file of a Prometheus program (exporter-toolkit)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: web_config
short_description: The web configuration file (C(--web.config.file)) of Prometheus, the Pushgateway and the exporters
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Builds the content of the web configuration file read by the Prometheus programs, in the exporter-toolkit format,
    that is HTTPS with the given certificate and key, and HTTP basic authentication for the given users.
  - Passwords are hashed with bcrypt (cost 10), the only hash the programs accept. The salt is derived from the user
    name, never from the password, so the same password always gives the same file (a re-run changes nothing) and the
    hash tells nothing the bcrypt hash itself does not.
  - Needs the Python package C(bcrypt) on the controller.
options:
  _input:
    description: Users allowed in, user name to password. Empty turns basic authentication off.
    type: dict
    required: true
  cert_file:
    description: Path of the server certificate on the host; empty serves plain HTTP.
    type: str
    default: ""
  key_file:
    description: Path of its private key on the host.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: The Pushgateway's web configuration
  ansible.builtin.copy:
    content: >-
      {{ {'mlops': pushgateway_password}
         | mlops.stack.web_config(cert_file='/etc/pushgateway/tls/agent.crt', key_file='/etc/pushgateway/tls/agent.key')
         | to_nice_yaml }}
    dest: /etc/pushgateway/web.yml
    mode: "0640"
"""

RETURN = r"""
_value:
  description: The configuration, with C(tls_server_config) and C(basic_auth_users) when asked for.
  type: dict
"""

import hashlib

from ansible.errors import AnsibleFilterError

try:
    import bcrypt

    HAS_BCRYPT = True
except ImportError:  # pragma: no cover - reported when the filter is used
    HAS_BCRYPT = False

# bcrypt's own base64 alphabet (not RFC 4648's).
_BCRYPT_B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
COST = 10


def _bcrypt_b64(data):
    """Encode 16 bytes the way bcrypt writes a salt: 22 characters."""
    bits = int.from_bytes(data, "big") << 4  # 128 bits, padded to 132 = 22 * 6
    return "".join(_BCRYPT_B64[(bits >> (6 * (21 - i))) & 63] for i in range(22))


def salt_for(user):
    """A salt that depends on the user name only (and this collection)."""
    digest = hashlib.sha256(("mlops.stack web_config " + user).encode()).digest()[:16]
    return ("$2b$%02d$" % COST + _bcrypt_b64(digest)).encode()


def bcrypt_hash(password, user):
    if not HAS_BCRYPT:
        raise AnsibleFilterError("web_config: hashing passwords needs the Python package bcrypt on the controller")
    raw = password.encode()
    if len(raw) > 72:
        raise AnsibleFilterError("web_config: the password of user %r is longer than bcrypt's 72 bytes" % user)
    return bcrypt.hashpw(raw, salt_for(user)).decode()


def web_config(users, cert_file="", key_file=""):
    if not isinstance(users, dict):
        kind = type(users).__name__
        raise AnsibleFilterError("web_config: the users must be a dict of user name to password, got %r" % kind)
    if bool(cert_file) != bool(key_file):
        raise AnsibleFilterError(
            "web_config: cert_file and key_file go together (got %r and %r)" % (cert_file, key_file)
        )
    config = {}
    if cert_file:
        config["tls_server_config"] = {"cert_file": cert_file, "key_file": key_file, "min_version": "TLS12"}
    for user, password in sorted(users.items()):
        if not user or ":" in str(user):
            raise AnsibleFilterError("web_config: %r is not a user name (empty or holding ':')" % user)
        if not password:
            raise AnsibleFilterError("web_config: user %r has an empty password" % user)
        config.setdefault("basic_auth_users", {})[str(user)] = bcrypt_hash(str(password), str(user))
    return config


class FilterModule:
    def filters(self):
        return {"web_config": web_config}
