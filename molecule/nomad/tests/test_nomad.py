"""A secure single-node Nomad (server and client) that runs a real Docker job."""

import json
import os
import sys
from functools import partial
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))
import waiting
from tls_checks import foreign_certificate, rpc_connect

API = "https://127.0.0.1:4646"
TLS = "/etc/nomad.d/tls"
CERTS = f"--cacert {TLS}/ca.crt --cert {TLS}/agent.crt --key {TLS}/agent.key"
eventually = partial(waiting.eventually, timeout=90, interval=2)


def secrets(host) -> Path:
    region = {"mlops-nomad-debian12": "r12", "mlops-nomad-debian13": "r13"}[host.backend.get_hostname()]
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets" / "nomad" / region


# Given as variables on Debian 13 (molecule.yml): test values, not secrets.
GIVEN = {"gossip": "t0BKxFC4sM3nDCjuh41vTWgfC/Wc4L4F0Qy6NIlNlfg=", "management": "ac85ec06-b47d-412c-b53f-5cf8c6fc901a"}


def token(host) -> str:
    if host.backend.get_hostname() == "mlops-nomad-debian13":
        return GIVEN["management"]
    path = secrets(host) / "management.token"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    return path.read_text().strip()


def api(host, path, tok=True):
    header = f"-H 'X-Nomad-Token: {token(host)}'" if tok else ""
    return json.loads(host.check_output(f"curl -fsS {CERTS} {header} {API}{path}"))


def nomad(host, args):
    env = (
        f"NOMAD_ADDR={API} NOMAD_CACERT={TLS}/ca.crt NOMAD_CLIENT_CERT={TLS}/agent.crt "
        f"NOMAD_CLIENT_KEY={TLS}/agent.key NOMAD_TOKEN={token(host)}"
    )
    return host.run(f"env {env} nomad {args}")


def test_agent_runs_as_root_client_under_systemd(host):
    service = host.service("nomad")
    assert service.is_running and service.is_enabled
    unit = host.file("/etc/systemd/system/nomad.service").content_string
    assert "KillMode=process" in unit


def test_has_a_leader(host):
    leader = api(host, "/v1/status/leader", tok=False)
    assert leader.endswith(":4647")


def test_anonymous_is_denied_and_the_token_works(host):
    anonymous = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' {CERTS} {API}/v1/jobs")
    assert anonymous.stdout == "403"
    assert isinstance(api(host, "/v1/jobs"), list)


def test_gossip_is_encrypted(host):
    keys = api(host, "/v1/agent/keyring/list")
    assert len(keys["Keys"]) == 1


def test_https_requires_a_client_certificate_from_the_clusters_ca(host):
    without = host.run(f"curl -s --cacert {TLS}/ca.crt {API}/v1/status/leader")
    assert without.rc != 0
    cert, key = foreign_certificate(host, f"server.{secrets(host).name}.nomad")
    foreign = host.run(f"curl -s --cacert {TLS}/ca.crt --cert {cert} --key {key} {API}/v1/status/leader")
    assert foreign.rc != 0, foreign.stdout
    assert api(host, "/v1/status/leader", tok=False)


def test_rpc_takes_only_a_client_certificate_from_the_clusters_ca(host):
    """Port 4647 the way a Nomad agent connects: the TLS byte, then mutual TLS."""
    cert, key = foreign_certificate(host, f"server.{secrets(host).name}.nomad")
    ca = f"{TLS}/ca.crt"
    assert rpc_connect(host, "127.0.0.1", 4647, 4, ca, f"{TLS}/agent.crt", f"{TLS}/agent.key") == "accepted"
    assert rpc_connect(host, "127.0.0.1", 4647, 4, ca, cert, key).startswith("refused"), "a certificate from another CA"
    assert rpc_connect(host, "127.0.0.1", 4647, 4, ca).startswith("refused"), "no certificate"


def test_node_is_ready_with_class_meta_volume_and_a_healthy_docker_driver(host):
    def check():
        nodes = api(host, "/v1/nodes")
        assert len(nodes) == 1 and nodes[0]["Status"] == "ready", nodes
        node = api(host, f"/v1/node/{nodes[0]['ID']}")
        # The side effect restarted the engine (an owed restart): the driver is
        # healthy again at its next fingerprint.
        docker = node["Drivers"]["docker"]
        assert docker["Detected"] and docker["Healthy"], docker
        return node

    node = eventually(check)
    assert node["NodeClass"] == "training"
    assert node["Meta"]["purpose"] == "molecule"
    assert node["HostVolumes"]["datasets"]["ReadOnly"] is True
    assert not node["Drivers"].get("raw_exec", {}).get("Healthy")


# The task stays up a few seconds after its line: Nomad's docker logger attaches
# to the container after it starts, and a container that is gone by then (seen
# on a loaded machine, both hosts at once) leaves an empty task log.
JOB = """
job "hello" {
  type = "batch"
  group "hello" {
    task "hello" {
      driver = "docker"
      config {
        image   = "IMAGE"
        command = "/bin/sh"
        args    = ["-c", "echo trained on $(nproc) cpus; sleep 5"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
"""


def test_runs_a_real_container_job(host):
    image = (os.environ.get("MLOPS_IMAGE_PREFIX") or "mlops-stack/debian") + ":12"
    host.run(f"cat > /tmp/hello.nomad.hcl <<'EOF'\n{JOB.replace('IMAGE', image)}\nEOF")
    run = nomad(host, "job run /tmp/hello.nomad.hcl")
    assert run.rc == 0, run.stdout + run.stderr
    status = None
    for _ in range(90):
        allocs = api(host, "/v1/job/hello/allocations")
        status = [a["ClientStatus"] for a in allocs]
        if status and status[0] in ("complete", "failed"):
            break
        host.run("sleep 1")
    assert status == ["complete"], allocs
    # The task's log reaches the alloc folder shortly after the task ends (logmon
    # copies the container's output): wait for it.
    logs = None
    for _ in range(30):
        logs = nomad(host, f"alloc logs {allocs[0]['ID']} hello")
        if "trained on" in logs.stdout:
            break
        host.run("sleep 1")
    assert "trained on" in logs.stdout, (logs.stdout, logs.stderr)
    nomad(host, "job stop -purge hello")


def test_given_secrets_are_used_and_never_written():
    """Debian 13 got its gossip key and management token as variables."""
    host = testinfra.get_host("docker://mlops-nomad-debian13")
    keys = api(host, "/v1/agent/keyring/list")
    assert list(keys["Keys"]) == [GIVEN["gossip"]], keys
    written = sorted(p.name for p in secrets(host).iterdir())
    for name in ("gossip.seed", "management.token", "management.seed"):
        assert name not in written, written
    for path in secrets(host).parent.parent.rglob("*"):
        if path.is_file():
            content = path.read_text(errors="replace")
            assert GIVEN["gossip"] not in content and GIVEN["management"] not in content, path


@pytest.mark.parametrize("name", ["management.token", "ca.key", "gossip.seed"])
def test_controller_secrets_are_private(name):
    """The generated ones (Debian 12's region) are private."""
    host = testinfra.get_host("docker://mlops-nomad-debian12")
    path = secrets(host) / name
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
