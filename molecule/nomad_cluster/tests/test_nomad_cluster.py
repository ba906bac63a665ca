"""Three Nomad servers and a client, registered in Consul, all secured."""

import json
import os
import sys
from functools import partial
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))
import waiting

# The API checks run on every server; the client is looked at directly.
testinfra_hosts = ["nomad-server-1", "nomad-server-2", "nomad-server-3"]
CLIENT = "nomad-client-1"
SERVERS = ["nomad-server-1", "nomad-server-2", "nomad-server-3"]

API = "https://127.0.0.1:4646"
TLS = "/etc/nomad.d/tls"
CURL = f"curl -fsS --cacert {TLS}/ca.crt"
SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets"


def nomad_token():
    return (SECRETS / "nomad" / "global" / "management.token").read_text().strip()


def consul_token():
    return (SECRETS / "consul" / "dc1" / "management.token").read_text().strip()


def nomad_api(host, path, token=True):
    header = f"-H 'X-Nomad-Token: {nomad_token()}'" if token else ""
    return json.loads(host.check_output(f"{CURL} {header} {API}{path}"))


# The side effect stopped and started the first server: give it time.
eventually = partial(waiting.eventually, timeout=90, interval=2, errors=(AssertionError, ValueError, RuntimeError))


def test_one_leader_and_three_raft_voters(host):
    def check():
        config = nomad_api(host, "/v1/operator/raft/configuration")
        servers = config["Servers"]
        assert len(servers) == 3 and all(s["Voter"] for s in servers)
        assert sum(s["Leader"] for s in servers) == 1
        health = nomad_api(host, "/v1/operator/autopilot/health")
        assert health["Healthy"], health

    eventually(check)


def test_every_member_is_alive(host):
    def check():
        members = nomad_api(host, "/v1/agent/members")["Members"]
        assert sorted(m["Name"].split(".")[0] for m in members) == SERVERS
        assert {m["Status"] for m in members} == {"alive"}

    eventually(check)


def test_anonymous_is_denied_and_the_token_works(host):
    anonymous = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' --cacert {TLS}/ca.crt {API}/v1/jobs")
    assert anonymous.stdout == "403"
    assert isinstance(nomad_api(host, "/v1/jobs"), list)


def test_gossip_is_encrypted_with_one_key(host):
    keys = nomad_api(host, "/v1/agent/keyring/list")
    assert len(keys["Keys"]) == 1


def test_client_node_is_ready(host):
    def check():
        nodes = nomad_api(host, "/v1/nodes")
        assert [(n["Name"], n["Status"]) for n in nodes] == [("nomad-client-1", "ready")]
        node = nomad_api(host, f"/v1/node/{nodes[0]['ID']}")
        assert node["Drivers"]["docker"]["Healthy"], node["Drivers"]["docker"]

    eventually(check)


@pytest.mark.parametrize("service", ["nomad", "nomad-client"])
def test_nomad_is_registered_in_consul_and_passing(host, service):
    def check():
        entries = json.loads(
            host.check_output(
                f"curl -fsS -H 'X-Consul-Token: {consul_token()}' "
                f"'http://127.0.0.1:8500/v1/health/service/{service}?passing=true'"
            )
        )
        nodes = sorted({e["Node"]["Node"] for e in entries})
        expected = [CLIENT] if service == "nomad-client" else SERVERS
        assert nodes == expected, entries

    eventually(check)


def uid_of_nomad(host):
    pid = host.check_output("systemctl show --property=MainPID --value nomad")
    return int(host.check_output(f"stat -c %u /proc/{pid}"))


def test_servers_run_as_nomad_and_the_client_as_root(host):
    assert uid_of_nomad(host) == host.user("nomad").uid
    assert uid_of_nomad(testinfra.get_host(f"docker://{CLIENT}")) == 0


def test_the_client_reaches_the_servers_over_mutual_tls():
    client = testinfra.get_host(f"docker://{CLIENT}")
    leader = json.loads(client.check_output(f"{CURL} {API}/v1/status/leader"))
    assert leader.endswith(":4647")
