"""Prometheus with the Pushgateway: targets, a pushed metric, rules."""

import json
import os
import sys
import uuid
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))
import waiting

API = "https://127.0.0.1:9090"
SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets" / "monitoring"
# Generated once by the roles on the controller.
PROMETHEUS = f"--cacert /etc/prometheus/tls/ca.crt -u mlops:{(SECRETS / 'prometheus.password').read_text().strip()}"
PUSHGATEWAY = f"--cacert /etc/pushgateway/tls/ca.crt -u mlops:{(SECRETS / 'pushgateway.password').read_text().strip()}"
DEFAULT_ALERTS = {
    "TargetDown",
    "ConsulNoLeader",
    "NomadNoLeader",
    "NomadAllocationsFailing",
    "TrainingFailed",
    "TrainingMetricsStale",
}


def get(host, path):
    return json.loads(host.check_output(f"curl -fsS {PROMETHEUS} '{API}{path}'"))["data"]


eventually = partial(waiting.eventually, timeout=60, interval=1, errors=(AssertionError,))


def test_runs_as_prometheus_and_is_ready(host):
    assert host.service("prometheus").is_running
    pid = host.check_output("systemctl show --property=MainPID --value prometheus")
    assert int(host.check_output(f"stat -c %u /proc/{pid}")) == host.user("prometheus").uid
    assert host.run(f"curl -fsS {PROMETHEUS} {API}/-/ready").rc == 0


def test_nobody_reads_without_the_password(host):
    for path in ("/-/ready", "/api/v1/query?query=up", "/graph"):
        for auth in ("", "-u mlops:wrong-password", PUSHGATEWAY):  # the other service's password is no key either
            curl = f"curl -sS -o /dev/null -w '%{{http_code}}' --cacert /etc/prometheus/tls/ca.crt {auth} '{API}{path}'"
            assert host.run(curl).stdout == "401", (path, auth.split(":")[0])


def test_targets_itself_the_pushgateway_and_file_sd_are_up(host):
    def check():
        targets = get(host, "/api/v1/targets?state=active")["activeTargets"]
        health = {(t["labels"]["job"], t["health"]) for t in targets}
        assert {("prometheus", "up"), ("pushgateway", "up"), ("file-sd", "up")} <= health, health
        file_sd = next(t for t in targets if t["labels"]["job"] == "file-sd")
        assert file_sd["labels"]["source"] == "file_sd"

    eventually(check)


def test_consul_sd_job_is_configured(host):
    config = get(host, "/api/v1/status/config")["yaml"]
    assert "consul_sd_configs" in config and "nomad-client" in config
    assert "molecule-not-a-secret" not in config  # Prometheus hides the token


def test_a_pushed_metric_is_queried(host):
    run = uuid.uuid4().hex[:8]
    host.check_output(
        f"echo 'mlops_molecule_probe 42' | curl -fsS {PUSHGATEWAY} --data-binary @- https://127.0.0.1:9091/metrics/job/molecule/run/{run}"
    )

    def check():
        result = get(host, f"/api/v1/query?query=mlops_molecule_probe%7Brun%3D%22{run}%22%7D")["result"]
        assert result and result[0]["value"][1] == "42", result
        assert result[0]["metric"]["job"] == "molecule"  # honor_labels

    eventually(check)


def test_every_default_rule_and_the_recording_rule_are_loaded(host):
    groups = get(host, "/api/v1/rules")["groups"]
    rules = {r["name"]: r for g in groups for r in g["rules"]}
    assert set(rules) >= DEFAULT_ALERTS, sorted(rules)
    assert rules["job:up:sum"]["type"] == "recording"
    assert all(r["health"] != "err" for r in rules.values()), rules


def test_config_and_rules_are_not_world_readable(host):
    for path in ["/etc/prometheus/prometheus.yml", "/etc/prometheus/rules/mlops-stack.yml"]:
        assert host.file(path).mode == 0o640
