"""The whole platform from site.yml: the training run's metrics reach Prometheus through Consul."""

import base64
import json
import os
import subprocess
import sys
import urllib.parse
from functools import partial
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))
import waiting

testinfra_hosts = ["e2e-monitoring-1"]
SERVER = testinfra.get_host("docker://e2e-server-1")
SERVERS = ["e2e-server-1", "e2e-server-2", "e2e-server-3"]
CLIENTS = ["e2e-client-1", "e2e-client-2"]
SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets"
NOMAD = "curl -fsS --cacert /etc/nomad.d/tls/ca.crt https://127.0.0.1:4646"
# The scenario reaches e2e-client-2 as this user, with sudo (prepare.yml).
SUDO_USER = "mlops-operator"


def token(path):
    return (SECRETS / path).read_text().strip()


# Prometheus and the Pushgateway: HTTPS from the monitoring CA, and a password
# each (generated once on the controller).
PROMETHEUS = f"curl -fsS --cacert /etc/prometheus/tls/ca.crt -u mlops:{token('monitoring/prometheus.password')}"
PUSHGATEWAY = f"curl -fsS --cacert /etc/pushgateway/tls/ca.crt -u mlops:{token('monitoring/pushgateway.password')}"


# The side effect stopped and started a server: give the cluster time.
eventually = partial(
    waiting.eventually, timeout=90, interval=2, errors=(AssertionError, ValueError, RuntimeError, KeyError, IndexError)
)


def nomad(path):
    header = f"-H 'X-Nomad-Token: {token('nomad/global/management.token')}'"
    return json.loads(SERVER.check_output(f"{NOMAD}{path} {header}"))


def consul(host, path):
    header = f"-H 'X-Consul-Token: {token('consul/dc1/management.token')}'"
    return json.loads(host.check_output(f"curl -fsS {header} 'http://127.0.0.1:8500{path}'"))


def promql(host, query):
    url = "https://127.0.0.1:9090/api/v1/query?query=" + urllib.parse.quote(query)
    body = json.loads(host.check_output(f"{PROMETHEUS} '{url}'"))
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


def test_prometheus_and_the_pushgateway_let_nobody_in_without_the_password(host):
    """Nobody reads or forges the metrics the alerts and dashboards read."""

    def status(service, args):
        return host.check_output(f"curl -sS -o /dev/null -w '%{{http_code}}' --cacert /etc/{service}/tls/ca.crt {args}")

    for service, url in (("prometheus", "https://127.0.0.1:9090/api/v1/query?query=up"),
                         ("pushgateway", "https://127.0.0.1:9091/metrics")):  # fmt: skip
        for auth in ("", "-u mlops:wrong-password"):
            assert status(service, f"{auth} '{url}'") == "401", (service, auth)
    forged = "mlops_training_status{status=\"failed\"} 1"
    assert status("pushgateway", f"--data-binary '{forged}' https://127.0.0.1:9091/metrics/job/training") == "401"
    # The training run pushed with the password: its group is there.
    assert 'job="training"' in host.check_output(f"{PUSHGATEWAY} https://127.0.0.1:9091/metrics")


def test_prometheus_finds_the_pushgateway_through_consul(host):
    def check():
        targets = json.loads(host.check_output(f"{PROMETHEUS} https://127.0.0.1:9090/api/v1/targets"))["data"]
        pushgateway = [t for t in targets["activeTargets"] if t["scrapePool"] == "pushgateway"]
        assert len(pushgateway) == 1 and pushgateway[0]["health"] == "up", pushgateway
        assert pushgateway[0]["discoveredLabels"]["__meta_consul_service"] == "pushgateway"

    eventually(check)


def test_the_training_job_is_parameterized_and_a_run_completed():
    job = nomad("/v1/job/ml-train")
    assert job["Type"] == "batch"
    assert sorted(job["ParameterizedJob"]["MetaOptional"]) == ["LEARNING_RATE", "MODEL_NAME", "TRAINING_EPOCHS"]
    assert completed_runs(), nomad("/v1/jobs?prefix=ml-train")


def training_image():
    job = nomad("/v1/job/ml-train")
    (image,) = {task["Config"]["image"] for group in job["TaskGroups"] for task in group["Tasks"]}
    return image


def test_the_training_image_was_built_once_and_the_run_pulled_it_from_the_registry(host):
    """Built and pushed by e2e-client-1 only; the job names it by registry and digest; the client the run ran on holds
    that digest (Nomad pulled it there when it was missing), and both keep the registry's login."""
    registry = "e2e-monitoring-1:5000"
    password = token("monitoring/registry.password")
    ca = f"/etc/docker/certs.d/{registry}/ca.crt"
    image = training_image()
    repository, digest = image.split("@")
    assert repository == f"{registry}/mlops/training" and digest.startswith("sha256:"), image
    builder, other = (testinfra.get_host(f"docker://{name}") for name in CLIENTS)
    api = f"--cacert {ca} -u mlops:{password} https://{registry}/v2/mlops/training"
    tags = json.loads(builder.check_output(f"curl -fsS {api}/tags/list"))["tags"]
    assert len(tags) == 1, tags  # one build, one push
    accept = ("-H 'Accept: application/vnd.docker.distribution.manifest.v2+json,"
              " application/vnd.oci.image.manifest.v1+json'")
    headers = builder.check_output(f"curl -fsSI {accept} {api}/manifests/{tags[0]}")
    assert f"docker-content-digest: {digest}" in headers.lower(), headers
    ran_on = {alloc["NodeName"] for run in completed_runs() for alloc in nomad(f"/v1/job/{run['ID']}/allocations")
              if alloc["ClientStatus"] == "complete"}
    assert ran_on <= set(CLIENTS) and ran_on, ran_on
    for name, client in zip(CLIENTS, (builder, other), strict=True):
        if name == CLIENTS[0] or name in ran_on:
            digests = client.check_output(f"docker image inspect --format '{{{{json .RepoDigests}}}}' {image}")
            assert digests.count(image) == 1, digests
        # The login is root's alone, in a Docker configuration of the role's own, which Nomad's Docker driver reads.
        folder = client.file("/root/.docker/mlops-registry")
        login = client.file("/root/.docker/mlops-registry/config.json")
        assert (folder.user, folder.mode, login.user, login.mode) == ("root", 0o700, "root", 0o600)
        assert json.loads(login.content_string) == {
            "auths": {registry: {"auth": base64.b64encode(f"mlops:{password}".encode()).decode()}}}
    # Debian's scikit-learn without the compiler python3-scipy names (ml_workload_image_placeholders):
    # the pythran placeholder, no g++, and about half the size the toolchain would make it.
    inside = f"docker run --rm --entrypoint /bin/sh {image} -c"
    assert builder.check_output(f"{inside} 'dpkg-query -W -f=\\${{Version}} python3-pythran'") == "0~placeholder"
    assert builder.run(f"{inside} 'command -v g++'").rc != 0
    size = int(builder.check_output(f"docker image inspect --format '{{{{.Size}}}}' {image}"))
    assert size < 800 * 10**6, size
    # Only the builder has the build context.
    assert builder.file("/opt/mlops-training/context/Dockerfile").exists
    assert not other.file("/opt/mlops-training").exists
    # The registry lets nobody in without the password.
    status = f"curl -sS -o /dev/null -w '%{{http_code}}' --cacert {ca} https://{registry}/v2/mlops/training/tags/list"
    assert other.check_output(status) == "401"
    assert other.check_output(status + " -u mlops:wrong-password") == "401"


def test_nomad_pulls_the_training_image_with_the_clients_registry_login():
    """A client without the image gets it from the registry when Nomad runs it there, with the login its Docker
    driver reads (nomad_docker_auth_config): the job carries no credentials, and the registry lets nobody in
    without them."""
    image = training_image()
    client = testinfra.get_host("docker://e2e-client-2")
    # Forget it there (a stopped container of a run may keep the layers; the pull still asks the registry).
    client.run(f"docker image rm -f {image}")
    assert client.run(f"docker image inspect {image}").rc != 0
    job = {"Job": {
        "ID": "pull-check", "Type": "batch", "Datacenters": ["*"],
        "Constraints": [{"LTarget": "${node.unique.name}", "Operand": "=", "RTarget": "e2e-client-2"}],
        "TaskGroups": [{
            "Name": "pull", "Count": 1,
            "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
            "ReschedulePolicy": {"Attempts": 0, "Unlimited": False},
            "Tasks": [{"Name": "pull", "Driver": "docker",
                       "Config": {"image": image, "entrypoint": ["/bin/true"], "network_mode": "none"},
                       "Resources": {"CPU": 100, "MemoryMB": 64}}],
        }],
    }}  # fmt: skip
    header = f"-H 'X-Nomad-Token: {token('nomad/global/management.token')}'"
    SERVER.check_output(f"{NOMAD}/v1/jobs {header} -X POST -d '{json.dumps(job)}'")

    def finished():
        (alloc,) = nomad("/v1/job/pull-check/allocations")
        states = (alloc.get("TaskStates") or {}).values()
        events = [event.get("DisplayMessage") for state in states for event in state["Events"]]
        if alloc["ClientStatus"] == "failed":
            pytest.fail(f"the pull-check allocation failed: {events}")  # not retried
        assert alloc["ClientStatus"] == "complete", events
        return alloc

    try:
        alloc = eventually(finished, timeout=180)
    finally:
        SERVER.check_output(f"{NOMAD}/v1/job/pull-check?purge=true {header} -X DELETE")
    assert alloc["NodeName"] == "e2e-client-2"
    digests = client.check_output(f"docker image inspect --format '{{{{json .RepoDigests}}}}' {image}")
    assert image in digests, digests


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


def test_the_job_reads_its_consul_token_and_the_pushgateways_password_from_a_nomad_variable():
    variable = nomad("/v1/var/nomad/jobs/ml-train")
    assert variable["Items"] == {
        "consul_token": token("consul/dc1/ml-training.token"),
        "push_username": "mlops",
        "push_password": token("monitoring/pushgateway.password"),
        "push_ca": token("monitoring/ca.crt"),
    }


def test_the_catalog_holds_the_whole_stack(host):
    services = consul(host, "/v1/catalog/services")
    assert {"consul", "nomad", "nomad-client", "pushgateway", "prometheus", "grafana"} <= set(services), services


def test_grafana_is_registered_with_a_check_on_its_health_api(host):
    """site.yml registers Grafana on the monitoring host. The Grafana program cannot be had here
    (its install and service phases are skipped): its check must say so, not pass."""

    def check():
        (entry,) = consul(host, "/v1/health/service/grafana")
        assert (entry["Node"]["Node"], entry["Service"]["Port"]) == ("e2e-monitoring-1", 3000)
        (service_check,) = [c for c in entry["Checks"] if c["ServiceName"] == "grafana"]
        assert service_check["Status"] == "critical"
        # What the check said, from the agent that runs it: the catalog gets a
        # check's output only with a status change or every few minutes
        # (check_update_interval), and it starts critical with no output.
        (ran,) = [c for c in consul(host, "/v1/agent/checks").values() if c["ServiceName"] == "grafana"]
        assert "http://127.0.0.1:3000/api/health" in ran["Output"], ran

    eventually(check, timeout=30)


def test_prometheus_scrapes_every_agent_and_program(host):
    """up == 1 for every Consul agent, Nomad server and client, the Pushgateway and Prometheus itself."""
    expected = {
        "consul-servers": sorted(SERVERS),
        "consul-clients": sorted([*CLIENTS, "e2e-monitoring-1"]),
        "nomad-servers": sorted(SERVERS),
        "nomad-clients": sorted(CLIENTS),
        "pushgateway": ["e2e-monitoring-1"],
    }

    def check():
        up = promql(host, "up")
        found = {}
        for series in up:
            labels = series["metric"]
            assert series["value"][1] == "1", labels
            found.setdefault(labels["job"], []).append(labels.get("node", labels["instance"]))
        for job, nodes in expected.items():
            assert sorted(found.get(job, [])) == nodes, (job, found)
        assert len(found["prometheus"]) == 1, found

    eventually(check, timeout=120)


# The series each default alert reads; a new alert must be added here.
ALERT_SERIES = {
    "TargetDown": ["up"],
    "ConsulNoLeader": ["consul_server_isLeader"],
    "NomadNoLeader": ['up{job="nomad-servers"}', "nomad_nomad_autopilot_healthy"],
    "NomadAllocationsFailing": ["nomad_nomad_job_summary_failed"],
    "TrainingFailed": ['mlops_training_status{job="training",status="failed"}'],
    "TrainingMetricsStale": ['push_time_seconds{job="training"}'],
}


def test_every_default_alert_reads_series_that_exist(host):
    groups = json.loads(host.check_output(f"{PROMETHEUS} https://127.0.0.1:9090/api/v1/rules"))["data"]["groups"]
    alerts = {rule["name"] for group in groups for rule in group["rules"] if rule["type"] == "alerting"}
    assert alerts == set(ALERT_SERIES), alerts

    def check():
        for alert, selectors in ALERT_SERIES.items():
            for selector in selectors:
                assert promql(host, selector), f"{alert}: no series for {selector}"

    eventually(check, timeout=120)


def test_the_workload_token_is_least_privilege():
    """Refused on the ACL and node-write endpoints, allowed to dispatch ml-train."""
    workload = f"-H 'X-Nomad-Token: {token('nomad/global/ml-workload.token')}'"
    code = f"curl -s -o /dev/null -w '%{{http_code}}' --cacert /etc/nomad.d/tls/ca.crt {workload}"
    node = nomad("/v1/nodes")[0]["ID"]
    assert SERVER.check_output(f"{code} https://127.0.0.1:4646/v1/acl/tokens") == "403"
    policy = json.dumps({"Name": "escalate", "Rules": 'namespace "*" { policy = "write" }'})
    assert SERVER.check_output(f"{code} -X POST -d '{policy}' https://127.0.0.1:4646/v1/acl/policy/escalate") == "403"
    eligibility = json.dumps({"NodeID": node, "Eligibility": "ineligible"})
    node_write = f"{code} -X POST -d '{eligibility}' https://127.0.0.1:4646/v1/node/{node}/eligibility"
    assert SERVER.check_output(node_write) == "403"
    assert nomad(f"/v1/node/{node}")["SchedulingEligibility"] == "eligible"
    dispatch = json.dumps({"Meta": {"MODEL_NAME": "token-check", "TRAINING_EPOCHS": "2"}})
    run = json.loads(SERVER.check_output(
        f"{NOMAD}/v1/job/ml-train/dispatch?idempotency_token=verify-token-check {workload} -X POST -d '{dispatch}'"
    ))
    assert run["DispatchedJobID"].startswith("ml-train/dispatch-"), run


def test_a_host_was_converged_through_sudo_as_an_unprivileged_user():
    inventory = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory"
    answer = subprocess.run(
        ["ansible-inventory", "-i", str(inventory), "--host", "e2e-client-2"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(answer.stdout)["ansible_user"] == SUDO_USER
    client = testinfra.get_host("docker://e2e-client-2")
    assert client.user(SUDO_USER).uid != 0
    # The converge ran its tasks through sudo as that user.
    escalations = client.check_output(f"journalctl _COMM=sudo --no-pager | grep -c '{SUDO_USER} : ' || true")
    assert int(escalations) > 10, escalations
    assert client.service("nomad").is_running and client.service("docker").is_running
