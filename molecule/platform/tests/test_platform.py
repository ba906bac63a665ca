"""The whole platform from site.yml: the training run's metrics reach Prometheus through Consul."""

import json
import os
import time
import urllib.parse
from pathlib import Path

import testinfra

testinfra_hosts = ["e2e-monitoring-1"]
SERVER = testinfra.get_host("docker://e2e-server-1")
SERVERS = ["e2e-server-1", "e2e-server-2", "e2e-server-3"]
CLIENTS = ["e2e-client-1", "e2e-client-2"]
SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets"
NOMAD = "curl -fsS --cacert /etc/nomad.d/tls/ca.crt https://127.0.0.1:4646"


def token(path):
    return (SECRETS / path).read_text().strip()


def eventually(check, timeout=90):
    """The side effect stopped and started a server: give the cluster time."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, ValueError, RuntimeError, KeyError, IndexError):
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def nomad(path):
    header = f"-H 'X-Nomad-Token: {token('nomad/global/management.token')}'"
    return json.loads(SERVER.check_output(f"{NOMAD}{path} {header}"))


def consul(host, path):
    header = f"-H 'X-Consul-Token: {token('consul/dc1/management.token')}'"
    return json.loads(host.check_output(f"curl -fsS {header} 'http://127.0.0.1:8500{path}'"))


def promql(host, query):
    url = "http://127.0.0.1:9090/api/v1/query?query=" + urllib.parse.quote(query)
    body = json.loads(host.check_output(f"curl -fsS '{url}'"))
    assert body["status"] == "success", body
    return body["data"]["result"]


def completed_runs():
    runs = [j for j in nomad("/v1/jobs?prefix=ml-train/dispatch-") if j.get("ParentID") == "ml-train"]
    return [j for j in runs if j["Status"] == "dead" and j["JobSummary"]["Summary"]["train"]["Complete"] >= 1]


def test_every_agent_is_a_live_consul_member(host):
    def check():
        members = consul(host, "/v1/agent/members")
        alive = sorted(m["Name"] for m in members if m["Status"] == 1)
        assert alive == sorted([*SERVERS, *CLIENTS, "e2e-monitoring-1"]), members

    eventually(check)


def test_both_nomad_clients_are_ready():
    def check():
        nodes = sorted((n["Name"], n["Status"]) for n in nomad("/v1/nodes"))
        assert nodes == [(c, "ready") for c in CLIENTS]

    eventually(check)


def test_the_pushgateway_is_in_consul_and_passing(host):
    entries = consul(host, "/v1/health/service/pushgateway?passing=true")
    assert [(e["Node"]["Node"], e["Service"]["Port"]) for e in entries] == [("e2e-monitoring-1", 9091)]


def test_prometheus_finds_the_pushgateway_through_consul(host):
    def check():
        targets = json.loads(host.check_output("curl -fsS http://127.0.0.1:9090/api/v1/targets"))["data"]
        pushgateway = [t for t in targets["activeTargets"] if t["scrapePool"] == "pushgateway"]
        assert len(pushgateway) == 1 and pushgateway[0]["health"] == "up", pushgateway
        assert pushgateway[0]["discoveredLabels"]["__meta_consul_service"] == "pushgateway"

    eventually(check)


def test_the_training_job_is_parameterized_and_a_run_completed():
    job = nomad("/v1/job/ml-train")
    assert job["Type"] == "batch"
    assert sorted(job["ParameterizedJob"]["MetaOptional"]) == ["LEARNING_RATE", "MODEL_NAME", "TRAINING_EPOCHS"]
    assert completed_runs(), nomad("/v1/jobs?prefix=ml-train")


def test_the_runs_accuracy_is_in_prometheus_within_60s(host):
    run = completed_runs()[0]["ID"]
    selector = f'job="training",model="digits-sgd",dispatch_id="{run}"'

    def check():
        final = promql(host, f"max(mlops_training_accuracy{{{selector}}})")
        assert final and float(final[0]["value"][1]) > 0.8, final
        status = promql(host, f'mlops_training_status{{{selector},status="succeeded"}}')
        assert status and status[0]["value"][1] == "1", status

    eventually(check, timeout=60)
    epochs = promql(host, f"count(mlops_training_loss{{{selector}}})")
    assert epochs[0]["value"][1] == "20"
    for metric in ("mlops_training_duration_seconds", "mlops_training_samples_per_second"):
        assert float(promql(host, f"{metric}{{{selector}}}")[0]["value"][1]) > 0


def test_the_job_reads_its_consul_token_from_a_nomad_variable():
    variable = nomad("/v1/var/nomad/jobs/ml-train")
    assert variable["Items"] == {"consul_token": token("consul/dc1/ml-training.token")}
