"""consul_acl's plan (pure logic): what to create and update from the list endpoints' answers.

The module itself runs against a real Consul in tests/integration/test_consul_acl.py.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build"))  # ansible_collections/mlops/stack -> the checkout

from ansible_collections.mlops.stack.plugins.module_utils._http import APIError, one_line  # noqa: E402
from ansible_collections.mlops.stack.plugins.module_utils.consul import (  # noqa: E402
    ConsulAPIError,
    acl_plan,
    policy_description,
    rules_mark,
)

POLICY = {"name": "monitoring", "rules": 'service "x" { policy = "write" }\n', "description": None}
TOKEN = {"accessor_id": "a-1", "secret_id": "s-1", "description": "monitoring token", "policies": ["monitoring"],
         "node_identities": []}
AGENT = {"accessor_id": "a-2", "secret_id": "s-2", "description": "agent-n1 token", "policies": [],
         "node_identities": [{"node_name": "n1", "datacenter": "dc1"}]}


def listed_policy(policy=None, **over):
    policy = policy or POLICY
    return dict({"ID": "p-1", "Name": policy["name"], "Description": policy_description(policy)}, **over)


def listed_token(token, **over):
    stub = {"AccessorID": token["accessor_id"], "Description": token["description"],
            "Policies": [{"ID": "p-1", "Name": n} for n in token["policies"]],
            "NodeIdentities": [{"NodeName": n["node_name"], "Datacenter": n["datacenter"]}
                               for n in token["node_identities"]]}
    return dict(stub, **over)


def test_an_empty_cluster_gets_everything_created():
    plan = acl_plan([], [], [POLICY], [TOKEN, AGENT])
    assert plan == {"create_policies": [POLICY], "update_policies": [], "create_tokens": [TOKEN, AGENT],
                    "update_tokens": []}


def test_a_current_cluster_needs_nothing_whatever_else_it_holds():
    others = [{"ID": "p-9", "Name": "global-management", "Description": "Builtin Policy"}]
    tokens = [listed_token(TOKEN), listed_token(AGENT), {"AccessorID": "anonymous", "Description": "x"}]
    plan = acl_plan([listed_policy(), *others], tokens, [POLICY], [TOKEN, AGENT])
    assert not any(plan.values())


def test_changed_rules_update_the_policy_by_its_id():
    new = dict(POLICY, rules=POLICY["rules"] + 'service "y" { policy = "read" }\n')
    plan = acl_plan([listed_policy()], [], [new], [])
    assert plan["update_policies"] == [dict(new, id="p-1")]


def test_a_policy_written_before_the_fingerprint_is_updated_once():
    old = listed_policy(Description="policy of the monitoring token (mlops.stack)")
    assert acl_plan([old], [], [POLICY], [])["update_policies"] == [dict(POLICY, id="p-1")]


def test_rules_are_compared_without_surrounding_whitespace():
    assert rules_mark(POLICY["rules"]) == rules_mark("\n" + POLICY["rules"] + "\n\n")
    assert rules_mark(POLICY["rules"]) != rules_mark('service "x" { policy = "read" }')


def test_a_token_whose_policies_or_identity_changed_is_updated():
    plan = acl_plan([], [listed_token(TOKEN, Policies=[]), listed_token(AGENT, NodeIdentities=[])], [],
                    [TOKEN, AGENT])
    assert plan["update_tokens"] == [TOKEN, AGENT] and plan["create_tokens"] == []


def test_errors_name_the_service_and_keep_one_line():
    assert str(ConsulAPIError("GET", "http://c/v1/acl/tokens", 403, "ACL not found")) == (
        "Consul API GET http://c/v1/acl/tokens answered HTTP 403: ACL not found")
    assert str(ConsulAPIError("GET", "http://c", None, "refused")) == "Consul at http://c is unreachable: refused"
    assert isinstance(ConsulAPIError("GET", "u", 1, "m"), APIError)
    assert one_line("a\n  b\tc") == "a b c" and one_line("x" * 10, limit=5) == "xx..."
