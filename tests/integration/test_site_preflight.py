"""Bad input to site.yml fails in its preflight, with a message naming the setting, before any host is touched.

The inventories here name container hosts that do not exist: the preflight plays run on the
controller only (checks and the roles' preflight tasks), so any attempt to reach a host would
fail with a connection error instead of the expected message.
"""

import os
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GROUPS = {"mlops_servers": ["s1", "s2", "s3"], "mlops_clients": ["c1"], "mlops_monitoring": ["m1"]}


def inventory(tmp_path, groups=None, extra_vars=None):
    groups = GROUPS if groups is None else groups
    children = {g: {"hosts": {h: {} for h in hosts}} for g, hosts in groups.items()}
    variables = {"ansible_connection": "community.docker.docker", **(extra_vars or {})}
    data = {"all": {"vars": variables, "children": children}}
    path = tmp_path / "inventory" / "hosts.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def site(inventory_path, *args):
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    run = subprocess.run(
        ["ansible-playbook", "-i", str(inventory_path), "mlops.stack.site", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return run.returncode, run.stdout + run.stderr


def assert_stopped_in_preflight(rc, output, *expected):
    assert rc != 0, output
    # Messages are compared with their line breaks and indents as single spaces (the
    # callback wraps long messages, differently from one ansible-core to the next).
    flat = " ".join(output.split())
    for text in expected:
        assert " ".join(text.split()) in flat, output
    # No play after the preflight started, and no host was reached.
    assert "PLAY [Docker engine" not in output, output
    assert "UNREACHABLE" not in output and "unreachable=1" not in output, output
    assert "changed=1" not in output, output


WITHOUT_SERVERS = {k: v for k, v in GROUPS.items() if k != "mlops_servers"}


@pytest.mark.parametrize("groups", [WITHOUT_SERVERS, {**GROUPS, "mlops_servers": []}], ids=["missing", "empty"])
def test_missing_or_empty_servers_group(tmp_path, groups):
    rc, output = site(inventory(tmp_path, groups))
    assert_stopped_in_preflight(rc, output, "The inventory has no hosts in mlops_servers (mlops_servers_group)")


def test_secrets_folder_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the secrets folder's parent should be\n")
    rc, output = site(inventory(tmp_path, extra_vars={"mlops_secrets_dir": str(blocker / ".secrets")}))
    assert_stopped_in_preflight(rc, output, f"mlops_secrets_dir ({blocker}/.secrets) cannot be written")
    assert not (tmp_path / "inventory" / ".secrets").exists()


def test_secrets_folder_that_is_a_file(tmp_path):
    secrets = tmp_path / "secrets"
    secrets.write_text("")
    rc, output = site(inventory(tmp_path, extra_vars={"mlops_secrets_dir": str(secrets)}))
    assert_stopped_in_preflight(rc, output, f"mlops_secrets_dir ({secrets}) cannot be written")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"consul_encrypt_key": "c2hvcnQ="}, "consul_encrypt_key must be the base64 of 16, 24 or 32 random bytes"),
        ({"consul_encrypt_key": "not base64 at all!"}, "consul_encrypt_key must be the base64"),
        ({"nomad_encrypt_key": "MDEyMzQ1Njc4OWFiY2RlZg=="}, "nomad_encrypt_key must be the base64 of 32 random bytes"),
        ({"consul_acl_management_token": "secret"}, "consul_acl_management_token must be a UUID"),
        (
            {"consul_retry_interval": "2 seconds"},
            "consul_retry_interval must be a Go duration such as 2s or 1m30s, got 2 seconds",
        ),
        ({"nomad_retry_interval": "30"}, "nomad_retry_interval must be a Go duration such as 2s or 1m30s, got 30"),
        (
            {"nomad_tls_renew_days": 900},
            "nomad_tls_renew_days must be at least 0 and less than nomad_tls_cert_days (825)",
        ),
        ({"ml_workload_epochs": 0}, "ml_workload_epochs must be a whole number of at least 1, got 0"),
        ({"ml_workload_learning_rate": "fast"}, "ml_workload_learning_rate must be a number above 0, got fast"),
        ({"grafana_http_port": 70000}, "grafana_http_port must be a TCP port (1-65535), got 70000"),
        (
            {"grafana_dashboards": [{"dashboard": {"uid": "a" * 41, "title": "Too long"}}]},
            "(Too long): `uid` '" + "a" * 41 + "' is 41 characters long; Grafana allows at most 40",
        ),
        (
            {
                "grafana_dashboards": [
                    {"dashboard": {"uid": "x", "title": "X", "__inputs": [{"name": "DS_LOKI", "type": "datasource"}]}}
                ]
            },
            "(X): Dashboard input variable: DS_LOKI missing from inputs",
        ),
        (
            {"pushgateway_web_username": "ml ops"},
            "pushgateway_web_username must be a user name without ':' or spaces (got 'ml ops')",
        ),
        ({"prometheus_web_password": "Short1x"}, "prometheus_web_password, when given, 8 to 72 characters"),
        ({"pushgateway_web_password": "p" * 73}, "(bcrypt's limit; the value given has 73)"),
    ],
    ids=[
        "consul-key-short",
        "consul-key-not-base64",
        "nomad-key-16-bytes",
        "consul-token",
        "consul-retry-interval",
        "nomad-retry-interval",
        "nomad-renew-days",
        "epochs",
        "learning-rate",
        "grafana-port",
        "grafana-dashboard-uid",
        "grafana-dashboard-input",
        "pushgateway-user",
        "prometheus-password-short",
        "pushgateway-password-long",
    ],
)
def test_bad_setting_is_named_before_any_host_changes(tmp_path, variables, message):
    rc, output = site(inventory(tmp_path, extra_vars=variables))
    assert_stopped_in_preflight(rc, output, message)
    # The secret's value is never echoed back (looked for in the output and in it unwrapped).
    seen = output + "".join(output.split())
    for name, value in variables.items():
        if isinstance(value, str) and "key" in message.split()[0]:
            assert f"got {value}" not in output and value not in seen
        if name.endswith("_password"):
            assert value not in seen
    # Nothing was generated on the controller either.
    assert not (tmp_path / "inventory" / ".secrets").exists()
