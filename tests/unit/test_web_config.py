"""The web_config filter: the Prometheus programs' web configuration (TLS, bcrypt users).

The programs themselves read these files in the default, prometheus and
platform scenarios (and Prometheus' promtool checks them); here, the logic.
"""

import bcrypt
import pytest
from ansible.errors import AnsibleFilterError
from conftest import load_file

plugin = load_file("plugins/filter/web_config.py")


def test_users_are_bcrypt_hashes_that_check_and_never_the_password():
    config = plugin.web_config({"mlops": "s3cret-Pa55word"})
    hashed = config["basic_auth_users"]["mlops"]
    assert hashed.startswith("$2b$10$") and "s3cret" not in hashed
    assert bcrypt.checkpw(b"s3cret-Pa55word", hashed.encode())
    assert not bcrypt.checkpw(b"s3cret-Pa55wordX", hashed.encode())
    assert "tls_server_config" not in config


def test_the_same_input_gives_the_same_file_and_the_salt_ignores_the_password():
    one = plugin.web_config({"mlops": "first-password"})["basic_auth_users"]["mlops"]
    # A re-run changes nothing.
    assert plugin.web_config({"mlops": "first-password"})["basic_auth_users"]["mlops"] == one
    other = plugin.web_config({"mlops": "other-password"})["basic_auth_users"]["mlops"]
    assert one[:29] == other[:29] and one != other  # same salt (from the user name), other hash
    assert plugin.web_config({"someone": "first-password"})["basic_auth_users"]["someone"][:29] != one[:29]


def test_tls_and_no_users():
    config = plugin.web_config({}, cert_file="/etc/p/tls/agent.crt", key_file="/etc/p/tls/agent.key")
    assert config == {"tls_server_config": {"cert_file": "/etc/p/tls/agent.crt", "key_file": "/etc/p/tls/agent.key",
                                            "min_version": "TLS12"}}  # fmt: skip


@pytest.mark.parametrize(
    ("users", "kwargs", "message"),
    [
        ({"mlops": ""}, {}, "user 'mlops' has an empty password"),
        ({"ml:ops": "password1"}, {}, "not a user name"),
        ({"mlops": "x" * 73}, {}, "longer than bcrypt's 72 bytes"),
        (["mlops"], {}, "must be a dict"),
        ({}, {"cert_file": "/c"}, "cert_file and key_file go together"),
    ],
)
def test_bad_input_names_the_problem(users, kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        plugin.web_config(users, **kwargs)
