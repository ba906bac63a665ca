"""A secure single-node Consul: leader, gossip encryption, TLS, ACLs."""

import json
import os
from pathlib import Path

HTTP = "http://127.0.0.1:8500"
HTTPS = "https://127.0.0.1:8501"
TLS = "/etc/consul.d/tls"


def token(host):
    """The management token the role stored on the controller (per datacenter)."""
    dc = {"mlops-consul-debian12": "dc12", "mlops-consul-debian13": "dc13"}[host.backend.get_hostname()]
    secrets = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets"
    path = secrets / "consul" / dc / "management.token"
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


def test_anonymous_is_denied_and_the_token_works(host):
    anonymous = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' {HTTP}/v1/acl/tokens")
    assert anonymous.stdout == "403"
    header = f"X-Consul-Token: {token(host)}"
    authorised = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' -H '{header}' {HTTP}/v1/acl/tokens")
    assert authorised.stdout == "200"


def test_gossip_is_encrypted(host):
    keys = json.loads(host.check_output(f"curl -fsS -H 'X-Consul-Token: {token(host)}' {HTTP}/v1/operator/keyring"))
    assert keys and all(len(ring["Keys"]) == 1 for ring in keys)


def test_https_requires_a_client_certificate(host):
    without = host.run(f"curl -s --cacert {TLS}/ca.crt {HTTPS}/v1/status/leader")
    assert without.rc != 0
    with_cert = host.run(
        f"curl -fsS --cacert {TLS}/ca.crt --cert {TLS}/agent.crt --key {TLS}/agent.key {HTTPS}/v1/status/leader"
    )
    assert with_cert.rc == 0, with_cert.stderr


def test_agent_registered_its_node_with_its_own_token(host):
    nodes = json.loads(host.check_output(f"curl -fsS -H 'X-Consul-Token: {token(host)}' {HTTP}/v1/catalog/nodes"))
    assert [n["Node"] for n in nodes] == [host.backend.get_hostname()]


def test_controller_secrets_are_private():
    secrets = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets"
    for path in [secrets, *secrets.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        if path.is_dir():
            assert mode == 0o700, path
        elif path.suffix != ".crt":
            assert mode == 0o600, f"{path} has mode {oct(mode)}"
