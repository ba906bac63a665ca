"""Behaviour an operator relies on, checked on each converged host."""

import json
import shlex
import time
import uuid
from pathlib import Path

import yaml

PINNED = yaml.safe_load((Path(__file__).resolve().parents[3] / "versions.yml").read_text())["pushgateway"]
BASE = "http://127.0.0.1:9091"


def curl(host, *args):
    cmd = host.run("curl -fsS --max-time 5 " + " ".join(args))
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout


def wait_ready(host, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.run(f"curl -fsS --max-time 2 {BASE}/-/ready").rc == 0:
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
    push = host.run(f"printf %s {shlex.quote(body)} | curl -fsS --data-binary @- {url}")
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
