"""The Consul cluster under Nomad: three servers and a client, all secured.

Run after the side effect, which stopped and started the first server and
upgraded every server one at a time: the cluster must be whole again.
"""

import json
import os
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))
import waiting

testinfra_hosts = ["nomad-server-1", "nomad-server-2", "nomad-server-3", "nomad-client-1"]
MEMBERS = ["nomad-client-1", "nomad-server-1", "nomad-server-2", "nomad-server-3"]
HTTP = "http://127.0.0.1:8500"


def token():
    secrets = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets"
    return (secrets / "consul" / "dc1" / "management.token").read_text().strip()


def get(host, path):
    return json.loads(host.check_output(f"curl -fsS -H 'X-Consul-Token: {token()}' {HTTP}{path}"))


eventually = partial(waiting.eventually, timeout=90, interval=2, errors=(AssertionError, ValueError, RuntimeError))


def test_one_leader_and_three_raft_peers(host):
    def check():
        assert get(host, "/v1/status/leader").endswith(":8300")
        assert len(get(host, "/v1/status/peers")) == 3

    eventually(check)


def test_every_member_alive(host):
    def check():
        members = get(host, "/v1/agent/members")
        assert sorted(m["Name"] for m in members) == MEMBERS
        assert all(m["Status"] == 1 for m in members), members

    eventually(check)


def test_autopilot_reports_a_healthy_cluster(host):
    def check():
        health = get(host, "/v1/operator/autopilot/health")
        assert health["Healthy"] is True, health

    eventually(check)


def test_anonymous_is_denied(host):
    assert host.run(f"curl -s -o /dev/null -w '%{{http_code}}' {HTTP}/v1/acl/tokens").stdout == "403"


def test_gossip_is_encrypted_with_one_key(host):
    rings = get(host, "/v1/operator/keyring")
    assert rings and all(len(ring["Keys"]) == 1 for ring in rings)


def test_every_node_registered(host):
    assert sorted(n["Node"] for n in get(host, "/v1/catalog/nodes")) == MEMBERS
