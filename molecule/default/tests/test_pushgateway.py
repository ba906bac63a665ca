"""Behaviour an operator relies on, checked on each converged host."""

import json
import os
import shlex
import time
import uuid
from pathlib import Path

import yaml

PINNED = yaml.safe_load((Path(__file__).resolve().parents[3] / "versions.yml").read_text())["pushgateway"]
BASE = "https://127.0.0.1:9091"
CA = "/etc/pushgateway/tls/ca.crt"
SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets"
# Generated once by the role on the controller.
PASSWORD = (SECRETS / "monitoring" / "pushgateway.password").read_text().strip()
AUTH = f"--cacert {CA} -u mlops:{PASSWORD}"


def curl(host, *args, auth=AUTH):
    cmd = host.run(f"curl -fsS --max-time 5 {auth} " + " ".join(args))
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout


def status_of(host, *args):
    """The HTTP status code curl sees (000 when no HTTP answer came)."""
    return host.run("curl -sS -o /dev/null -w '%{http_code}' --max-time 5 " + " ".join(args)).stdout


def wait_ready(host, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.run(f"curl -fsS --max-time 2 {AUTH} {BASE}/-/ready").rc == 0:
            return
        time.sleep(0.5)
    raise AssertionError("pushgateway did not become ready")


def test_service_enabled_and_running(host):
    svc = host.service("pushgateway")
    assert svc.is_enabled
    assert svc.is_running


def test_runs_as_its_own_unprivileged_user(host):
    pid = host.check_output("systemctl show --property=MainPID --value pushgateway")
    uid = host.check_output(f"stat -c %u /proc/{pid}")
    assert int(uid) == host.user("pushgateway").uid
    assert host.user("pushgateway").uid != 0
    assert host.user("pushgateway").shell == "/usr/sbin/nologin"


def test_ready_and_pinned_version(host):
    assert "OK" in curl(host, f"{BASE}/-/ready")
    status = json.loads(curl(host, f"{BASE}/api/v1/status"))
    assert status["data"]["build_information"]["version"] == PINNED


def test_binary_from_versioned_folder(host):
    link = host.file("/usr/local/bin/pushgateway")
    assert link.is_symlink
    assert link.linked_to == f"/opt/mlops/pushgateway/{PINNED}/pushgateway"


def test_pushed_metric_is_exposed_and_survives_restart(host):
    run_id = uuid.uuid4().hex[:8]
    body = f'mlops_molecule_probe{{run="{run_id}"}} 42\n'
    url = f"{BASE}/metrics/job/molecule/instance/{run_id}"
    push = host.run(f"printf %s {shlex.quote(body)} | curl -fsS {AUTH} --data-binary @- {url}")
    assert push.rc == 0, push.stderr
    line = f'mlops_molecule_probe{{instance="{run_id}",job="molecule",run="{run_id}"}} 42'
    assert line in curl(host, f"{BASE}/metrics")
    host.run("systemctl restart pushgateway")
    wait_ready(host)
    assert host.file("/var/lib/pushgateway/metrics.store").exists
    assert line in curl(host, f"{BASE}/metrics"), "pushed metric lost across a restart"


def test_unit_is_hardened(host):
    unit = host.file("/etc/systemd/system/pushgateway.service").content_string
    for setting in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "ReadWritePaths=/var/lib/pushgateway",
        "CapabilityBoundingSet=\n",
    ):
        assert setting in unit


def test_nobody_reads_or_pushes_without_the_password(host):
    push = f"--data-binary 'mlops_molecule_forged 1' {BASE}/metrics/job/molecule"
    for path in ("/metrics", "/-/ready", "/api/v1/status"):
        assert status_of(host, f"--cacert {CA}", BASE + path) == "401", path
        assert status_of(host, f"--cacert {CA} -u mlops:wrong-password", BASE + path) == "401", path
    assert status_of(host, f"--cacert {CA}", push) == "401"
    assert status_of(host, f"--cacert {CA} -u mlops:{PASSWORD}x", push) == "401"
    assert "mlops_molecule_forged" not in curl(host, f"{BASE}/metrics")


def test_https_only_with_a_certificate_for_its_consul_name(host):
    # Plain HTTP gets no answer a client could use, only TLS's refusal.
    assert status_of(host, "http://127.0.0.1:9091/-/ready") == "400"
    # The certificate is from the monitoring CA, for the name in Consul's DNS.
    named = "--connect-to pushgateway.service.consul:9091:127.0.0.1:9091 https://pushgateway.service.consul:9091/-/ready"
    assert "OK" in curl(host, named)
    # Without the CA, curl does not trust it.
    assert host.run(f"curl -fsS --max-time 5 -u mlops:{PASSWORD} {BASE}/-/ready").rc == 60


def test_the_web_configuration_holds_a_bcrypt_hash_only(host):
    web = host.file("/etc/pushgateway/web.yml")
    assert (web.user, web.group, web.mode) == ("root", "pushgateway", 0o640)
    config = yaml.safe_load(web.content_string)
    assert config["basic_auth_users"]["mlops"].startswith("$2b$10$")
    assert PASSWORD not in web.content_string
    key = host.file("/etc/pushgateway/tls/agent.key")
    assert (key.user, key.group, key.mode) == ("root", "pushgateway", 0o640)


def test_controller_secrets_are_private():
    for path in [SECRETS, *SECRETS.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        if path.is_dir():
            assert mode == 0o700, path
        elif path.suffix != ".crt":  # certificates are public
            assert mode == 0o600, f"{path} has mode {oct(mode)}"
