"""The monitoring_password lookup: one password per monitoring program, generated once on the controller."""

import stat

import pytest
from ansible.errors import AnsibleLookupError


@pytest.fixture
def lookup(lookup_plugin):
    return lookup_plugin("monitoring_password")


def test_generated_once_private_and_reused(tmp_path, lookup):
    first = lookup.run(["pushgateway", "prometheus"], variables={}, secrets_dir=str(tmp_path))
    folder = tmp_path / "monitoring"
    push_file, prom_file = folder / "pushgateway.password", folder / "prometheus.password"
    assert [push_file.read_text().split()[0], prom_file.read_text().split()[0]] == first
    assert all(len(p) == 32 and p.isalnum() for p in first) and first[0] != first[1]
    assert stat.S_IMODE(push_file.stat().st_mode) == 0o600
    assert lookup.run(["pushgateway", "prometheus"], variables={}, secrets_dir=str(tmp_path)) == first


def test_an_operators_file_is_read_as_it_is(tmp_path, lookup):
    (tmp_path / "monitoring").mkdir()
    (tmp_path / "monitoring" / "prometheus.password").write_text("given-by-the-operator\n")
    assert lookup.run(["prometheus"], variables={}, secrets_dir=str(tmp_path)) == ["given-by-the-operator"]


def test_an_unknown_program_is_named(tmp_path, lookup):
    with pytest.raises(AnsibleLookupError, match="must be one of pushgateway, prometheus, registry, not 'grafana'"):
        lookup.run(["grafana"], variables={}, secrets_dir=str(tmp_path))
    assert not (tmp_path / "monitoring").exists()
