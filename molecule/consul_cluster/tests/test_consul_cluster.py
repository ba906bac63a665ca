"""A secure three-server Consul cluster with a client."""

import json
import os
from pathlib import Path

HTTP = "http://127.0.0.1:8500"


def token():
    secrets = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets"
    return (secrets / "consul" / "dc1" / "management.token").read_text().strip()


def get(host, path, authorised=True):
    header = f"-H 'X-Consul-Token: {token()}'" if authorised else ""
    return json.loads(host.check_output(f"curl -fsS {header} {HTTP}{path}"))


def test_one_leader_and_three_raft_peers(host):
    assert get(host, "/v1/status/leader").endswith(":8300")
    assert len(get(host, "/v1/status/peers")) == 3


def test_every_member_alive(host):
    members = get(host, "/v1/agent/members")
    assert sorted(m["Name"] for m in members) == [
        "consul-client-1", "consul-server-1", "consul-server-2", "consul-server-3"
    ]  # fmt: skip
    assert all(m["Status"] == 1 for m in members)


def test_autopilot_reports_a_healthy_cluster(host):
    assert get(host, "/v1/operator/autopilot/health")["Healthy"] is True


def test_anonymous_is_denied(host):
    assert host.run(f"curl -s -o /dev/null -w '%{{http_code}}' {HTTP}/v1/acl/tokens").stdout == "403"


def test_gossip_is_encrypted(host):
    rings = get(host, "/v1/operator/keyring")
    assert rings and all(len(ring["Keys"]) == 1 for ring in rings)


def test_every_node_registered(host):
    nodes = sorted(n["Node"] for n in get(host, "/v1/catalog/nodes"))
    assert nodes == ["consul-client-1", "consul-server-1", "consul-server-2", "consul-server-3"]
