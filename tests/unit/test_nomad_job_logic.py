"""Pure logic of nomad_job: HCL2 variables and the plan diff as text."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build"))  # ansible_collections/mlops/stack -> the checkout

from ansible_collections.mlops.stack.plugins.module_utils.nomad import acl_plan, beyond_recovery  # noqa: E402
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


NOT_RESTARTING = {"Type": "Not Restarting", "RestartReason": "Error was unrecoverable"}
UNRECOVERABLE = {"t": {"Events": [{"Type": "Driver Failure"}, NOT_RESTARTING]}}
NO_RESTARTS = {"t": {"Events": [{"Type": "Not Restarting", "RestartReason": "Policy allows no restarts"}]}}
DONE = [{"Status": "complete"}, {"Status": "complete"}]


def test_beyond_recovery_when_every_allocation_failed_unrecoverably_even_with_reschedules_pending():
    allocations = [
        {"ClientStatus": "failed", "TaskStates": UNRECOVERABLE, "NextAllocation": "b"},
        {"ClientStatus": "failed", "TaskStates": UNRECOVERABLE, "FollowupEvalID": "e"},
    ]
    assert beyond_recovery(allocations, [*DONE, {"Status": "pending"}])


def test_beyond_recovery_when_nothing_is_left_to_try():
    allocations = [{"ClientStatus": "failed", "TaskStates": NO_RESTARTS}]
    assert beyond_recovery(allocations, DONE)


def test_not_beyond_recovery_while_nomad_may_still_succeed():
    failed = {"ClientStatus": "failed", "TaskStates": NO_RESTARTS}
    assert not beyond_recovery([], DONE)  # nothing placed yet
    assert not beyond_recovery([failed, {"ClientStatus": "running"}], DONE)  # one still runs
    assert not beyond_recovery([{**failed, "NextAllocation": "b"}], DONE)  # replaced
    assert not beyond_recovery([{**failed, "FollowupEvalID": "e"}], DONE)  # to be rescheduled
    assert not beyond_recovery([failed], [*DONE, {"Status": "pending"}])  # an evaluation still to run
    assert not beyond_recovery([failed], [])  # no evaluation seen yet
    # One unrecoverable failure does not make the recoverable one certain.
    mixed = [{"ClientStatus": "failed", "TaskStates": UNRECOVERABLE}, {**failed, "FollowupEvalID": "e"}]
    assert not beyond_recovery(mixed, DONE)
