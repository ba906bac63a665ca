"""A secure single-node Consul: leader, gossip encryption, TLS, ACLs."""

import json
import os
import sys
from pathlib import Path

import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))
from tls_checks import foreign_certificate, rpc_connect

HTTP = "http://127.0.0.1:8500"
TLS = "/etc/consul.d/tls"


SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets"
# Given as variables on Debian 13 (molecule.yml): test values, not secrets.
GIVEN = {"gossip": "kHfX3/C1MCs3jFQiFk3gCtItKnTI3PqppXH9Uo8Td00=", "management": "44be961d-32eb-472f-a080-062560d3f7ae"}


def datacenter(host):
    return {"mlops-consul-debian12": "dc12", "mlops-consul-debian13": "dc13"}[host.backend.get_hostname()]


def token(host):
    """The management token: given as a variable (Debian 13), else stored by the role on the controller."""
    if datacenter(host) == "dc13":
        return GIVEN["management"]
    path = SECRETS / "consul" / datacenter(host) / "management.token"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    return path.read_text().strip()


def test_service_runs_as_consul(host):
    assert host.service("consul").is_running
    assert host.service("consul").is_enabled
    pid = host.check_output("systemctl show --property=MainPID --value consul")
    assert int(host.check_output(f"stat -c %u /proc/{pid}")) == host.user("consul").uid


def test_has_a_leader(host):
    leader = json.loads(host.check_output(f"curl -fsS {HTTP}/v1/status/leader"))
    assert leader.endswith(":8300")


def test_raft_timing_follows_the_multiplier(host):
    """consul_raft_multiplier: 1 by default (Debian 12), 2 given (Debian 13); Consul's own default is 5."""
    agent = json.loads(host.check_output(f"curl -fsS -H 'X-Consul-Token: {token(host)}' {HTTP}/v1/agent/self"))
    expected = {"dc12": "1s", "dc13": "2s"}[datacenter(host)]
    assert agent["DebugConfig"]["ConsulRaftElectionTimeout"] == expected
    assert agent["DebugConfig"]["ConsulRaftHeartbeatTimeout"] == expected


def test_anonymous_is_denied_and_the_token_works(host):
    # Requests an agent under default_policy = "allow" answers (200): tests/integration/
    # test_consul_anonymous.py shows it, so this test can fail. /v1/acl/tokens cannot.
    for method, path in (("GET", "/v1/agent/self"), ("PUT", "/v1/kv/x")):
        anonymous = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' -X {method} {HTTP}{path}")
        assert anonymous.stdout == "403", (method, path)
    assert host.run(f"curl -s -o /dev/null -w '%{{http_code}}' {HTTP}/v1/acl/tokens").stdout == "403"
    header = f"X-Consul-Token: {token(host)}"
    authorised = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' -H '{header}' {HTTP}/v1/acl/tokens")
    assert authorised.stdout == "200"


def test_gossip_is_encrypted(host):
    keys = json.loads(host.check_output(f"curl -fsS -H 'X-Consul-Token: {token(host)}' {HTTP}/v1/operator/keyring"))
    assert keys and all(len(ring["Keys"]) == 1 for ring in keys)


def test_https_serves_the_clusters_certificate_and_needs_a_token(host):
    """HTTPS on the host's address (for Prometheus and the UI): TLS checked against the CA, no client
    certificate needed, and an agent endpoint denied without a token (it would answer under allow)."""
    address = host.check_output("hostname -i").split()[0]
    name = f"server.{datacenter(host)}.consul"
    https = f"curl -s -o /dev/null -w '%{{http_code}}' --cacert {TLS}/ca.crt --resolve {name}:8501:{address}"
    url = f"https://{name}:8501/v1/agent/self"
    assert host.check_output(f"{https} {url}") == "403"
    assert host.check_output(f"{https} -H 'X-Consul-Token: {token(host)}' {url}") == "200"
    # Plain HTTP answers on loopback only.
    assert host.run(f"curl -s --max-time 5 http://{address}:8500/v1/status/leader").rc != 0


def test_agent_registered_its_node_with_its_own_token(host):
    nodes = json.loads(host.check_output(f"curl -fsS -H 'X-Consul-Token: {token(host)}' {HTTP}/v1/catalog/nodes"))
    assert [n["Node"] for n in nodes] == [host.backend.get_hostname()]


def test_given_secrets_are_used_and_never_written():
    """Debian 13 got its gossip key and management token as variables."""
    host = testinfra.get_host("docker://mlops-consul-debian13")
    keys = json.loads(host.check_output(f"curl -fsS -H 'X-Consul-Token: {token(host)}' {HTTP}/v1/operator/keyring"))
    assert {key for ring in keys for key in ring["Keys"]} == {GIVEN["gossip"]}
    written = sorted(p.name for p in (SECRETS / "consul" / "dc13").iterdir())
    for name in ("gossip.seed", "management.token", "management.seed"):
        assert name not in written, written
    for path in SECRETS.rglob("*"):
        if path.is_file():
            content = path.read_text(errors="replace")
            assert GIVEN["gossip"] not in content and GIVEN["management"] not in content, path


def test_controller_secrets_are_private():
    secrets = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets"
    for path in [secrets, *secrets.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        if path.is_dir():
            assert mode == 0o700, path
        elif path.suffix != ".crt":
            assert mode == 0o600, f"{path} has mode {oct(mode)}"


def test_rpc_takes_only_a_client_certificate_from_the_clusters_ca(host):
    """Port 8300 the way a Consul agent connects: the TLS byte, then mutual TLS (verify_incoming)."""
    cert, key = foreign_certificate(host, f"server.{datacenter(host)}.consul")
    address = host.check_output("hostname -i").split()[0]  # servers take RPC on their bind address
    ca = f"{TLS}/ca.crt"
    assert rpc_connect(host, address, 8300, 3, ca, f"{TLS}/agent.crt", f"{TLS}/agent.key") == "accepted"
    assert rpc_connect(host, address, 8300, 3, ca, cert, key).startswith("refused"), "a certificate from another CA"
    assert rpc_connect(host, address, 8300, 3, ca).startswith("refused"), "no certificate"


def test_https_grants_a_foreign_client_certificate_nothing(host):
    """Consul's HTTPS asks for no client certificate (consul_tls_https_verify_incoming: false, for
    browsers and Prometheus; docs/security.md) and ignores one it is given: a certificate from
    another CA for the server's own name gets what anonymous gets, 403 on an agent endpoint."""
    name = f"server.{datacenter(host)}.consul"
    cert, key = foreign_certificate(host, name)
    address = host.check_output("hostname -i").split()[0]
    https = f"curl -s -o /dev/null -w '%{{http_code}}' --cacert {TLS}/ca.crt --resolve {name}:8501:{address}"
    for method, path in (("GET", "/v1/agent/self"), ("PUT", "/v1/kv/x")):
        answer = host.check_output(f"{https} --cert {cert} --key {key} -X {method} https://{name}:8501{path}")
        assert answer == "403", (method, path)
