"""consul_acl against a real Consul agent with ACLs on: bootstrap once, policies and tokens from the list
endpoints, honest changed, check mode and a refused token."""

import json
import urllib.error
import urllib.request

import pytest
from modules import run_module, run_tasks

MANAGEMENT = "5d1b0a52-6f39-4c4e-9e0e-3f0c3c1f2a10"
OTHER = "0b7c9f4e-2d1a-4e5b-8c3d-6a7f8e9d0c1b"
RULES = 'service "pushgateway" { policy = "write" }\n'


def wanted(address, token=MANAGEMENT, rules=RULES, **over):
    args = {
        "url": address, "token": token, "bootstrap": True, "token_origin": "the token in the test",
        "policies": [{"name": "monitoring", "rules": rules, "description": "the monitoring host"}],
        "tokens": [
            {"accessor_id": "11111111-2222-4333-8444-555555555555", "secret_id": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
             "description": "monitoring token (mlops.stack)", "policies": ["monitoring"]},
            {"accessor_id": "66666666-7777-4888-8999-000000000000", "secret_id": "ffffffff-1111-4222-8333-444444444444",
             "description": "agent-node-1 token (mlops.stack)",
             "node_identities": [{"node_name": "node-1", "datacenter": "dc1"}]},
        ],
    }  # fmt: skip
    args.update(over)
    return args


def get(address, path, token):
    request = urllib.request.Request(f"{address}/v1/{path}", headers={"X-Consul-Token": token})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_bootstrap_policies_and_tokens_in_one_run_then_nothing_to_do(consul_acl_dev, tmp_path):
    first, again, check = run_tasks([
        {"module": "consul_acl", "args": wanted(consul_acl_dev)},
        {"module": "consul_acl", "args": wanted(consul_acl_dev)},
        {"module": "consul_acl", "args": wanted(consul_acl_dev), "check": True, "diff": True},
    ], tmp_path)  # fmt: skip
    assert first["changed"] and first["bootstrapped"], first
    assert first["created_policies"] == ["monitoring"]
    assert sorted(first["created_tokens"]) == ["agent-node-1 token (mlops.stack)", "monitoring token (mlops.stack)"]
    assert not again["changed"] and not again["bootstrapped"], again
    assert again["created_tokens"] == again["updated_tokens"] == again["updated_policies"] == []
    assert not check["changed"], check
    # What Consul holds: the token works with its given secret and carries its policy.
    token = get(consul_acl_dev, "acl/token/self", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")
    assert token["AccessorID"] == "11111111-2222-4333-8444-555555555555"
    assert [p["Name"] for p in token["Policies"]] == ["monitoring"]
    node = get(consul_acl_dev, "acl/token/66666666-7777-4888-8999-000000000000", MANAGEMENT)
    assert node["NodeIdentities"] == [{"NodeName": "node-1", "Datacenter": "dc1"}]
    policy = get(consul_acl_dev, "acl/policy/name/monitoring", MANAGEMENT)
    assert policy["Rules"] == RULES and policy["Description"].startswith("the monitoring host [rules sha256:")
    # The secrets never appear in the results.
    shown = json.dumps([first, again, check], default=str)
    assert "aaaaaaaa-bbbb" not in shown and MANAGEMENT not in shown


def test_changed_rules_and_a_changed_token_are_updated_and_check_mode_writes_nothing(consul_acl_dev, tmp_path):
    new_rules = RULES + 'service "prometheus" { policy = "write" }\n'
    changed = wanted(consul_acl_dev, rules=new_rules)
    changed["tokens"][0]["description"] = "monitoring token, renamed"
    setup, check, apply, again = run_tasks([
        {"module": "consul_acl", "args": wanted(consul_acl_dev)},
        {"module": "consul_acl", "args": changed, "check": True},
        {"module": "consul_acl", "args": changed},
        {"module": "consul_acl", "args": changed},
    ], tmp_path)  # fmt: skip
    assert setup["changed"]
    assert check["changed"] and check["updated_policies"] == ["monitoring"], check
    assert check["updated_tokens"] == ["monitoring token, renamed"]
    assert apply["changed"] and apply["updated_policies"] == ["monitoring"] and not apply["bootstrapped"]
    assert not again["changed"], again
    assert get(consul_acl_dev, "acl/policy/name/monitoring", MANAGEMENT)["Rules"] == new_rules
    token = get(consul_acl_dev, "acl/token/self", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")  # same secret
    assert token["Description"] == "monitoring token, renamed"


def test_check_mode_on_a_cluster_not_bootstrapped_changes_nothing(consul_acl_dev):
    result = run_module("consul_acl", wanted(consul_acl_dev), check=True)
    assert result["changed"] and result["bootstrapped"], result
    assert result["created_policies"] == ["monitoring"]
    # Still not bootstrapped: the real run can bootstrap it with the chosen token.
    assert run_module("consul_acl", wanted(consul_acl_dev))["bootstrapped"]


def test_a_token_the_cluster_refuses_fails_naming_where_it_came_from(consul_acl_dev):
    assert run_module("consul_acl", wanted(consul_acl_dev))["bootstrapped"]
    result = run_module("consul_acl", wanted(consul_acl_dev, token=OTHER))
    assert result.get("failed"), result
    assert "refuses the token in the test (HTTP 403)" in result["msg"]
    assert OTHER not in json.dumps(result)
    with pytest.raises(urllib.error.HTTPError):
        get(consul_acl_dev, "acl/policies", OTHER)


def test_an_unreachable_consul_is_a_clear_error():
    result = run_module("consul_acl", wanted("http://127.0.0.1:1"))
    assert result.get("failed") and "Consul at http://127.0.0.1:1/v1/acl/bootstrap is unreachable" in result["msg"]
