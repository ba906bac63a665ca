"""Fixtures for integration tests against real programs (see programs.py)."""

import json
import os

import pytest
from grafana_api_double import GrafanaAPIDouble

from programs import Program, free_port, unpack, verified_archive


@pytest.fixture
def run_program(tmp_path, request):
    """Start real programs; stop them after the test; print their logs if it failed."""
    started: list[Program] = []

    def start(name, argv, health_url, env=None, timeout=60, ready=None, **health) -> Program:
        program = Program(name, argv, health_url, tmp_path, env, ready, **health)
        started.append(program)
        return program.start(timeout)

    yield start
    for program in reversed(started):
        program.stop()
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        for program in started:
            print(f"\n--- log of {program.name} ({program.log_path}) ---\n{program.tail(200)}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def consul_dev(run_program, tmp_path):
    """`consul agent -dev` from the mirror on free loopback ports; yields its HTTP address."""
    return start_consul_dev(run_program, tmp_path)


def start_consul_dev(run_program, tmp_path, *extra: str) -> str:
    """`consul agent -dev` from the mirror on free loopback ports, with further arguments; its HTTP address."""
    folder = unpack(verified_archive("consul"), tmp_path / "consul")
    http_port = free_port()
    argv = [
        str(folder / "consul"), "agent", "-dev", "-bind=127.0.0.1", "-client=127.0.0.1", "-log-level=warn",
        f"-http-port={http_port}", f"-server-port={free_port()}", f"-serf-lan-port={free_port()}",
        f"-serf-wan-port={free_port()}", f"-grpc-port={free_port()}", "-grpc-tls-port=-1", "-dns-port=-1", *extra,
    ]  # fmt: skip
    base = f"http://127.0.0.1:{http_port}"
    run_program("consul", argv, f"{base}/v1/status/leader", ready=lambda body: json.loads(body) != "")
    return base


@pytest.fixture
def consul_acl_dev(consul_acl_agent):
    """`consul agent -dev` with ACLs on (default deny, not bootstrapped); yields its HTTP address."""
    return consul_acl_agent("deny")


@pytest.fixture
def consul_acl_agent(run_program, tmp_path):
    """Starts `consul agent -dev` with ACLs on and the given default policy (not bootstrapped); returns its address."""
    return lambda policy: _consul_acl_agent(run_program, tmp_path / f"consul-{policy}", policy)


def _consul_acl_agent(run_program, tmp_path, policy):
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "acl.hcl"
    config.write_text(f'acl {{\n  enabled = true\n  default_policy = "{policy}"\n}}\n')
    return start_consul_dev(run_program, tmp_path, f"-config-file={config}")


@pytest.fixture
def nomad_dev(run_program, tmp_path):
    """`nomad agent -dev` (server and client) from the mirror on free loopback ports."""
    folder = unpack(verified_archive("nomad"), tmp_path / "nomad")
    http_port = free_port()
    config = tmp_path / "nomad.hcl"
    config.write_text(
        'bind_addr = "127.0.0.1"\n'
        f"ports {{\n  http = {http_port}\n  rpc = {free_port()}\n  serf = {free_port()}\n}}\n"
        # No Consul here: keep the agent from looking for one.
        'consul {\n  address = "127.0.0.1:1"\n  auto_advertise = false\n'
        "  server_auto_join = false\n  client_auto_join = false\n}\n"
        # Not in a cloud: skip the metadata probes (each waits for a timeout).
        'client {\n  options = {\n    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"\n  }\n}\n'
    )
    base = f"http://127.0.0.1:{http_port}"
    argv = [str(folder / "nomad"), "agent", "-dev", f"-config={config}", "-log-level=WARN"]
    # A CA bundle for the AWS SDK in the environment breaks its metadata client.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # Ready means a leader and a registered, ready node whose Docker driver is healthy: the
    # leader alone comes first, and a job registered before the node lands is "not placed".
    run_program("nomad", argv, f"{base}/v1/nodes", env=env, ready=_node_ready)
    return base


@pytest.fixture
def nomad_acl_server(run_program, tmp_path):
    """A Nomad server alone (no client) with ACLs on, not bootstrapped; yields its HTTP address."""
    folder = unpack(verified_archive("nomad"), tmp_path / "nomad")
    http_port = free_port()
    config = tmp_path / "nomad.hcl"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\nbind_addr = "127.0.0.1"\n'
        f"ports {{\n  http = {http_port}\n  rpc = {free_port()}\n  serf = {free_port()}\n}}\n"
        'advertise {\n  http = "127.0.0.1"\n  rpc = "127.0.0.1"\n  serf = "127.0.0.1"\n}\n'
        "server {\n  enabled = true\n  bootstrap_expect = 1\n}\n"
        'acl {\n  enabled = true\n}\n'
        'consul {\n  address = "127.0.0.1:1"\n  auto_advertise = false\n  server_auto_join = false\n}\n'
    )
    base = f"http://127.0.0.1:{http_port}"
    argv = [str(folder / "nomad"), "agent", f"-config={config}", "-log-level=WARN"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    run_program("nomad", argv, f"{base}/v1/status/leader", env=env, ready=lambda body: json.loads(body) != "")
    return base


def _node_ready(body: bytes) -> bool:
    return any(
        node["Status"] == "ready" and node.get("Drivers", {}).get("docker", {}).get("Healthy")
        for node in json.loads(body)
    )


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory, request):
    """moto's AWS API emulator as a server on loopback; yields its endpoint URL.

    Module-scoped: a test module provisions once and asserts many things.
    Its environment has no AWS_* settings of this machine (a CA bundle, a
    profile) and fake credentials, so nothing can reach AWS itself.
    """
    import sys

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")  # noqa: S106
    env["NO_PROXY"] = env["no_proxy"] = ",".join(filter(None, [env.get("no_proxy", ""), "127.0.0.1", "localhost"]))
    argv = [os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    program = Program("moto", argv, f"http://127.0.0.1:{port}/moto-api/", tmp_path_factory.mktemp("moto"), env)
    program.start(60)
    yield f"http://127.0.0.1:{port}"
    program.stop()
    if request.session.testsfailed:
        # Its errors, without the access log.
        errors = [line for line in program.tail(2000).splitlines() if '" 200 -' not in line]
        print(f"\n--- log of moto ({program.log_path}) ---\n" + "\n".join(errors[-100:]))


@pytest.fixture
def grafana_double():
    """The Grafana API test double (grafana_api_double.py) on a free loopback port: NOT Grafana.

    An in-process HTTP server answering the part of Grafana's API described in
    GRAFANA_FACTS.md section D; tests that use it say they run against the double.
    """
    double = GrafanaAPIDouble().start()
    yield double
    double.stop()
    assert not double.errors, "the Grafana API test double failed:\n" + "\n".join(double.errors)
