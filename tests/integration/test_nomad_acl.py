"""nomad_acl against a real Nomad server with ACLs on: bootstrap once with the given secret, policies and
client tokens kept by name, honest changed, check mode, a lost secret replaced and a foreign cluster refused."""

import json
import urllib.error
import urllib.request

import pytest
from modules import run_tasks

MANAGEMENT = "5d1b0a52-6f39-4c4e-9e0e-3f0c3c1f2a10"
OTHER = "0b7c9f4e-2d1a-4e5b-8c3d-6a7f8e9d0c1b"
RULES = 'namespace "default" {\n  capabilities = ["list-jobs", "read-job"]\n}\n'


def wanted(address, secret="", token=MANAGEMENT, rules=RULES):
    return {
        "address": address, "token": token, "bootstrap": True, "token_origin": "the token in the test",
        "policies": [{"name": "reader", "rules": rules, "description": "reads jobs"}],
        "tokens": [{"name": "reader", "policies": ["reader"], "secret_id": secret}],
    }  # fmt: skip


def get(address, path, token):
    request = urllib.request.Request(f"{address}/v1/{path}", headers={"X-Nomad-Token": token})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_bootstrap_policy_and_token_in_one_run_then_nothing_to_do(nomad_acl_server, tmp_path):
    check_first, first = run_tasks([
        {"module": "nomad_acl", "args": wanted(nomad_acl_server), "check": True, "diff": True},
        {"module": "nomad_acl", "args": wanted(nomad_acl_server)},
    ], tmp_path)  # fmt: skip
    # Check mode on a cluster not bootstrapped yet: all planned, nothing written.
    assert check_first["changed"] and check_first["bootstrapped"] and check_first["secrets"] == {}, check_first
    assert first["changed"] and first["bootstrapped"], first
    assert first["created_policies"] == ["reader"] and first["created_tokens"] == ["reader"]
    secret = first["secrets"]["reader"]
    again, check = run_tasks([
        {"module": "nomad_acl", "args": wanted(nomad_acl_server, secret)},
        {"module": "nomad_acl", "args": wanted(nomad_acl_server, secret), "check": True, "diff": True},
    ], tmp_path)  # fmt: skip
    assert not again["changed"] and not again["bootstrapped"] and again["secrets"] == {}, again
    assert not check["changed"], check
    # What Nomad holds: the management token is the bootstrap secret, the new token reads jobs and
    # nothing else.
    assert get(nomad_acl_server, "acl/token/self", MANAGEMENT)["Type"] == "management"
    token = get(nomad_acl_server, "acl/token/self", secret)
    assert token["Type"] == "client" and token["Policies"] == ["reader"] and token["Name"] == "reader"
    assert get(nomad_acl_server, "jobs", secret) == []
    with pytest.raises(urllib.error.HTTPError) as refused:
        get(nomad_acl_server, "nodes", secret)
    assert refused.value.code == 403
    assert get(nomad_acl_server, "acl/policy/reader", MANAGEMENT)["Rules"] == RULES
    # The management token never appears in the results.
    assert MANAGEMENT not in json.dumps([check_first, first, again, check], default=str)


def test_changed_rules_are_updated_and_a_lost_secret_gets_a_new_token(nomad_acl_server, tmp_path):
    (setup,) = run_tasks([{"module": "nomad_acl", "args": wanted(nomad_acl_server)}], tmp_path)
    secret = setup["secrets"]["reader"]
    new_rules = RULES + 'node {\n  policy = "read"\n}\n'
    check, apply, lost, again = run_tasks([
        {"module": "nomad_acl", "args": wanted(nomad_acl_server, secret, rules=new_rules), "check": True},
        {"module": "nomad_acl", "args": wanted(nomad_acl_server, secret, rules=new_rules)},
        {"module": "nomad_acl", "args": wanted(nomad_acl_server, OTHER, rules=new_rules)},
        {"module": "nomad_acl", "args": wanted(nomad_acl_server, secret, rules=new_rules)},
    ], tmp_path)  # fmt: skip
    assert check["changed"] and check["updated_policies"] == ["reader"] and check["created_tokens"] == [], check
    # Check mode wrote nothing: the run after it still finds the policy to update.
    assert apply["changed"] and apply["updated_policies"] == ["reader"] and not apply["bootstrapped"], apply
    assert apply["created_tokens"] == [] and apply["secrets"] == {}
    assert get(nomad_acl_server, "acl/policy/reader", MANAGEMENT)["Rules"] == new_rules
    assert get(nomad_acl_server, "nodes", secret) == []  # the same secret, now with node read
    # A secret Nomad does not know (a lost or foreign file): a new token, its secret returned.
    assert lost["changed"] and lost["created_tokens"] == ["reader"] and lost["updated_policies"] == [], lost
    assert get(nomad_acl_server, "acl/token/self", lost["secrets"]["reader"])["Policies"] == ["reader"]
    assert not again["changed"], again


def test_a_cluster_bootstrapped_with_another_token_is_refused_and_left_alone(nomad_acl_server, tmp_path):
    first, foreign, check = run_tasks([
        {"module": "nomad_acl", "args": wanted(nomad_acl_server)},
        {"module": "nomad_acl", "args": wanted(nomad_acl_server, token=OTHER)},
        {"module": "nomad_acl", "args": dict(wanted(nomad_acl_server, token=OTHER), bootstrap=False), "check": True},
    ], tmp_path)  # fmt: skip
    assert first["changed"]
    assert foreign.get("failed") and not foreign.get("changed"), foreign
    assert "bootstrapped before with another management token than the token in the test" in foreign["msg"]
    assert "bootstrap already done" in foreign["msg"].lower()
    assert check.get("failed") and "does not accept the token in the test" in check["msg"], check
    assert OTHER not in json.dumps([foreign, check], default=str)
    assert get(nomad_acl_server, "acl/token/self", MANAGEMENT)["Type"] == "management"
