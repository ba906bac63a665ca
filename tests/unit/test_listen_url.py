"""The listen_url filter: a service's local URL from its listen address."""

import pytest
from ansible.errors import AnsibleFilterError
from conftest import load_file

plugin = load_file("plugins/filter/listen_url.py")


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("0.0.0.0:9091", "http://127.0.0.1:9091"),
        (":9090", "http://127.0.0.1:9090"),
        ("[::]:9090", "http://127.0.0.1:9090"),
        ("10.0.0.5:9091", "http://10.0.0.5:9091"),
        ("[fd00::5]:9091", "http://[fd00::5]:9091"),
        ("localhost:9090", "http://localhost:9090"),
    ],
)
def test_listen_url(address, url):
    assert plugin.listen_url(address) == url


def test_scheme_and_filter_name():
    assert plugin.listen_url("127.0.0.1:8501", "https") == "https://127.0.0.1:8501"
    assert plugin.FilterModule().filters()["listen_url"] is plugin.listen_url


@pytest.mark.parametrize("address", ["9090", "host:", "host:port"])
def test_not_an_address(address):
    with pytest.raises(AnsibleFilterError, match="not a listen address"):
        plugin.listen_url(address)
