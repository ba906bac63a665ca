"""grafana_folder against the Grafana API test double (grafana_api_double.py), not a real Grafana.

The headline sequence runs through ansible-playbook; the edge cases run the module's main() in this
process (modules.call_module), the same module code without the executor's start-up.
"""

import json

import pytest
from modules import call_module, module_code, run_tasks

module_code("grafana_folder")  # imported at collection (see module_code)


def writes(double, since):
    return [(r["method"], r["path"], r["body"]) for r in double.writes(since)]


def test_folder_check_apply_again_rename_delete_against_the_double(grafana_double, tmp_path):
    """Against the Grafana API test double: check --diff writes nothing, a second run sends no write.

    check --diff, apply, check --diff again and apply again run through ansible-playbook; the rename and the
    two deletes run in-process.
    """
    args = dict(grafana_double.connection(), uid="platform", title="Platform")
    check, apply, check_again, again = steps = run_tasks(
        [
            {"module": "grafana_folder", "args": args, "check": True, "diff": True},
            {"module": "grafana_folder", "args": args, "diff": True},
            {"module": "grafana_folder", "args": args, "check": True, "diff": True},
            {"module": "grafana_folder", "args": args},
        ],
        tmp_path,
    )
    assert not any(step.get("failed") for step in steps), steps

    assert check["changed"] is True
    assert check["diff"] == {"before": {}, "after": {"uid": "platform", "title": "Platform", "parent_uid": None}}
    assert grafana_double.writes_during(check) == []

    assert apply["changed"] is True and apply["folder"]["uid"] == "platform"
    assert [(r["method"], r["path"], r["body"]) for r in grafana_double.writes_during(apply)] == [
        ("POST", "/api/folders", {"uid": "platform", "title": "Platform"})
    ]
    for step in (check_again, again):
        assert step["changed"] is False and "diff" not in step, step
        assert grafana_double.writes_during(step) == []
        assert [r["path"] for r in grafana_double.requests_during(step)] == ["/api/folders/platform"]

    mark = len(grafana_double.requests)
    rename = call_module("grafana_folder", dict(args, title="Platform team"), diff=True)
    assert rename["changed"] is True
    assert rename["diff"] == {
        "before": {"uid": "platform", "title": "Platform", "parent_uid": None},
        "after": {"uid": "platform", "title": "Platform team", "parent_uid": None},
    }
    assert writes(grafana_double, mark) == [("PUT", "/api/folders/platform", {"title": "Platform team", "version": 1})]
    assert rename["folder"]["version"] == 2

    absent = dict(grafana_double.connection(), uid="platform", state="absent")
    mark = len(grafana_double.requests)
    delete = call_module("grafana_folder", absent, diff=True)
    assert delete["changed"] is True and delete["diff"]["after"] == {}
    assert writes(grafana_double, mark) == [("DELETE", "/api/folders/platform", None)]
    mark = len(grafana_double.requests)
    assert call_module("grafana_folder", absent)["changed"] is False and writes(grafana_double, mark) == []
    assert grafana_double.folders == {}


def test_nested_folders_are_created_under_their_parent_and_moved_against_the_double(grafana_double):
    """Against the Grafana API test double: parent_uid nests, a new parent goes through /move, check mode does not."""
    conn = grafana_double.connection()
    call_module("grafana_folder", dict(conn, uid="platform", title="Platform"))
    call_module("grafana_folder", dict(conn, uid="ml", title="ML"))
    nested = call_module("grafana_folder", dict(conn, uid="nomad", title="Nomad", parent_uid="platform"))
    assert nested["changed"] is True and nested["folder"]["parentUid"] == "platform"
    deeper = call_module("grafana_folder", dict(conn, uid="jobs", title="Jobs", parent_uid="nomad"))
    assert [p["uid"] for p in deeper["folder"]["parents"]] == ["platform", "nomad"]
    assert call_module("grafana_folder", dict(conn, uid="jobs", title="Jobs", parent_uid="nomad"))["changed"] is False

    mark = len(grafana_double.requests)
    planned = call_module("grafana_folder", dict(conn, uid="nomad", title="Nomad", parent_uid="ml"), True, True)
    assert planned["changed"] is True and planned["diff"]["after"]["parent_uid"] == "ml"
    assert writes(grafana_double, mark) == []

    moved = call_module("grafana_folder", dict(conn, uid="nomad", title="Nomad", parent_uid="ml"), diff=True)
    assert moved["changed"] is True and moved["folder"]["parentUid"] == "ml"
    assert writes(grafana_double, mark) == [("POST", "/api/folders/nomad/move", {"parentUid": "ml"})]
    # Without parent_uid the folder belongs at the root.
    to_root = call_module("grafana_folder", dict(conn, uid="jobs", title="Jobs"), diff=True)
    assert to_root["diff"]["before"]["parent_uid"] == "nomad" and to_root["diff"]["after"]["parent_uid"] is None
    assert "parentUid" not in grafana_double.folders["jobs"] or not grafana_double.folders["jobs"]["parentUid"]


@pytest.mark.parametrize("conflict_status", [412, 409])
def test_create_answered_409_or_412_reads_the_folder_back_against_the_double(grafana_double, conflict_status):
    """Against the Grafana API test double: a concurrent create (412 as Grafana 9-12 answer, 409 as documented)."""
    grafana_double.folder_uid_conflict_status = conflict_status

    def someone_else_creates_it(method, path):
        if method == "POST" and path == "/api/folders" and "platform" not in grafana_double.folders:
            grafana_double.add_folder("platform", "Platform")

    grafana_double.before_request.append(someone_else_creates_it)
    result = call_module("grafana_folder", dict(grafana_double.connection(), uid="platform", title="Platform"))
    assert result["changed"] is False, result
    assert result["folder"]["uid"] == "platform"
    statuses = [r["path"] for r in grafana_double.requests]
    assert statuses == ["/api/folders/platform", "/api/folders", "/api/folders/platform"]

    # The same race with a different title: read back, then renamed with the version Grafana holds.
    grafana_double.folders.clear()
    result = call_module("grafana_folder", dict(grafana_double.connection(), uid="platform", title="Platform 2"))
    assert result["changed"] is True and result["folder"]["title"] == "Platform 2"


def test_a_title_taken_under_the_same_parent_fails_with_grafanas_409_against_the_double(grafana_double):
    """Against the Grafana API test double: another uid holds the title; the message names status and reason."""
    grafana_double.add_folder("other", "Platform")
    result = call_module("grafana_folder", dict(grafana_double.connection(), uid="platform", title="Platform"))
    assert result["failed"] is True and result["status"] == 409
    assert "HTTP 409: a folder with the same name already exists in the current location" in result["msg"]
    assert "no folder with uid platform" in result["msg"]


def test_a_missing_parent_fails_before_any_write_and_warns_in_check_mode_against_the_double(grafana_double):
    """Against the Grafana API test double: parent_uid is checked with GET /api/folders/<uid> first."""
    args = dict(grafana_double.connection(), uid="nomad", title="Nomad", parent_uid="platform")
    failed = call_module("grafana_folder", args)
    assert failed["failed"] is True and failed["msg"] == "parent_uid: Grafana has no folder with uid platform"
    checked = call_module("grafana_folder", args, check=True)
    assert checked["changed"] is True and "no folder platform in Grafana yet" in checked["warnings"][0]
    assert grafana_double.writes() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"uid": "x" * 41, "title": "T"}, "uid: '" + "x" * 41 + "' is 41 characters long; Grafana allows at most 40"),
        ({"uid": "a/b", "title": "T"}, "uid: 'a/b' contains characters Grafana does not allow in a uid"),
        ({"uid": "a", "title": "T", "parent_uid": "b c"}, "parent_uid: 'b c' contains characters"),
        ({"uid": "a", "title": "   "}, "title: must not be empty"),
        ({"uid": "a", "title": "general"}, "title: 'general' is the name Grafana keeps for its root folder"),
        ({"uid": "a", "title": "A", "parent_uid": "a"}, "parent_uid: a folder cannot be its own parent"),
    ],
)
def test_bad_input_is_refused_before_any_request_against_the_double(grafana_double, args, message):
    """Against the Grafana API test double: nothing is sent for input Grafana would refuse."""
    result = call_module("grafana_folder", dict(grafana_double.connection(), **args))
    assert result["failed"] is True and result["msg"].startswith(message), result["msg"]
    assert grafana_double.requests == []


def test_token_org_header_wrong_password_and_unreachable_against_the_double(grafana_double):
    """Against the Grafana API test double: Bearer token and X-Grafana-Org-Id sent; 401 and transport errors."""
    result = call_module("grafana_folder", dict(grafana_double.connection(token=True), uid="a", title="A", org_id=1))
    assert result["changed"] is True
    headers = grafana_double.requests[-1]["headers"]
    assert headers["authorization"] == "Bearer " + grafana_double.token and headers["x-grafana-org-id"] == "1"

    wrong = dict(grafana_double.connection(), url_password="wrong", uid="a", title="A")  # noqa: S106
    result = call_module("grafana_folder", wrong)
    assert result["failed"] is True and result["status"] == 401
    assert result["msg"].endswith("answered HTTP 401: Invalid username or password"), result["msg"]

    unreachable = call_module("grafana_folder", {"url": "http://127.0.0.1:1", "uid": "a", "title": "A"})
    assert (
        unreachable["failed"] is True
        and "Grafana at http://127.0.0.1:1/api/folders/a is unreachable" in (unreachable["msg"])
    )
    assert "Traceback" not in json.dumps(unreachable)
