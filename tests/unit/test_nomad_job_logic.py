"""Pure logic of nomad_job: HCL2 variables and the plan diff as text."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build"))  # ansible_collections/mlops/stack -> the checkout

from ansible_collections.mlops.stack.plugins.module_utils.nomad import acl_plan  # noqa: E402
from ansible_collections.mlops.stack.plugins.modules.nomad_job import hcl_variables, render_diff  # noqa: E402


def test_variables_are_hcl2_literals():
    assert hcl_variables({"b": 2, "a": "x", "c": ["p", "q"], "d": {"k": True}}) == (
        'a = "x"\nb = 2\nc = ["p", "q"]\nd = {"k": true}\n'
    )


def test_diff_shows_only_changed_fields_nested():
    diff = {
        "Type": "Edited",
        "Fields": [{"Type": "None", "Name": "Priority", "Old": "50", "New": "50"}],
        "TaskGroups": [
            {
                "Type": "Edited",
                "Name": "web",
                "Fields": [{"Type": "Edited", "Name": "Count", "Old": "1", "New": "2"}],
                "Tasks": [
                    {"Type": "None", "Name": "idle", "Fields": []},
                    {
                        "Type": "Edited",
                        "Name": "web",
                        "Fields": [{"Type": "Added", "Name": "Env[A]", "Old": "", "New": "1"}],
                        "Objects": [],
                    },
                ],
            }
        ],
    }
    assert render_diff(diff) == [
        "~ taskgroup web",
        "  ~ Count: 1 => 2",
        "  ~ task web",
        "    + Env[A]: 1",
    ]


def test_unchanged_plan_renders_nothing():
    assert render_diff({"Type": "None", "Fields": [], "TaskGroups": [{"Type": "None", "Name": "g"}]}) == []


def test_acl_plan_creates_missing_updates_changed_and_keeps_equal():
    wanted_policies = [
        {"name": "same", "rules": "a", "description": "d"},
        {"name": "rules", "rules": "new", "description": "d"},
        {"name": "missing", "rules": "x", "description": None},
    ]
    current_policies = {
        "same": {"Rules": "a\n", "Description": "d"},
        "rules": {"Rules": "old", "Description": "d"},
        "missing": None,
    }
    wanted_tokens = [
        {"name": "kept", "policies": ["p", "q"], "secret_id": "s1"},
        {"name": "moved", "policies": ["p"], "secret_id": "s2"},
        {"name": "lost", "policies": ["p"], "secret_id": "s3"},
    ]
    current_tokens = {
        "kept": {"AccessorID": "a1", "Type": "client", "Policies": ["q", "p"]},
        "moved": {"AccessorID": "a2", "Type": "client", "Policies": ["old"]},
    }
    plan = acl_plan(current_policies, wanted_policies, current_tokens, wanted_tokens)
    assert [x["name"] for x in plan["create_policies"]] == ["missing"]
    assert [x["name"] for x in plan["update_policies"]] == ["rules"]
    assert [x["name"] for x in plan["create_tokens"]] == ["lost"]
    assert [(x["name"], x["accessor_id"]) for x in plan["update_tokens"]] == [("moved", "a2")]


def test_acl_plan_has_nothing_to_do_for_an_equal_cluster():
    plan = acl_plan({"p": {"Rules": "r", "Description": ""}}, [{"name": "p", "rules": "r\n", "description": None}],
                    {"t": {"AccessorID": "a", "Type": "client", "Policies": ["p"]}},
                    [{"name": "t", "policies": ["p"], "secret_id": "s"}])
    assert not any(plan.values())
