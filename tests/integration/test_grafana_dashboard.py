"""grafana_dashboard against the Grafana API test double (grafana_api_double.py), not a real Grafana.

The headline sequence runs through ansible-playbook; the edge cases run the module's main() in this
process (modules.call_module), the same module code without the executor's start-up.
"""

import copy
import json

import pytest
from grafana_api_double import WRITE_METHODS
from modules import call_module, module_code, run_tasks

module_code("grafana_dashboard")  # imported at collection (see module_code)

PROMETHEUS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
# A dashboard as Grafana's "Export for sharing externally" writes it.
EXPORTED = {
    "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "description": "", "type": "datasource",
                  "pluginId": "prometheus", "pluginName": "Prometheus"}],
    "__elements": {},
    "__requires": [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "12.2.0"}],
    "id": None,
    "uid": "nomad-cluster",
    "title": "Nomad cluster",
    "tags": ["nomad"],
    "schemaVersion": 41,
    "panels": [
        {"id": 1, "type": "stat", "title": "Running allocations", "datasource": PROMETHEUS,
         "gridPos": {"h": 4, "w": 6, "x": 0, "y": 0},
         "targets": [{"refId": "A", "datasource": PROMETHEUS, "expr": "sum(nomad_client_allocations_running)"}]},
        {"id": 2, "type": "row", "title": "Jobs", "collapsed": True, "gridPos": {"h": 1, "w": 24, "x": 0, "y": 4},
         "panels": [{"id": 3, "type": "timeseries", "title": "Job ${job}", "datasource": PROMETHEUS}]},
    ],
    "templating": {"list": [{"name": "job", "type": "query", "datasource": PROMETHEUS,
                             "query": "label_values(nomad_nomad_job_summary_running, exported_job)"}]},
}  # fmt: skip


def resolved(datasource="prometheus"):
    """EXPORTED as Grafana's import would store it (inputs substituted, the __ keys gone)."""
    text = json.dumps(EXPORTED).replace("${DS_PROMETHEUS}", datasource)
    return {k: v for k, v in json.loads(text).items() if k not in ("__inputs", "__requires", "__elements")}


def posts(double, since=0):
    return [r for r in double.writes(since) if r["path"] == "/api/dashboards/db"]


def test_dashboard_check_apply_again_change_delete_against_the_double(grafana_double, tmp_path):
    """Against the Grafana API test double: a file with __inputs; Grafana's version grows, the module's idea not.

    check --diff, apply, check --diff again and apply again run through ansible-playbook; the change and the
    two deletes run in-process.
    """
    grafana_double.add_folder("platform", "Platform")
    original, edited = tmp_path / "nomad.json", tmp_path / "nomad-edited.json"
    original.write_text(json.dumps(EXPORTED))
    changed = copy.deepcopy(EXPORTED)
    changed["panels"][0]["title"] = "Running allocations (all jobs)"
    edited.write_text(json.dumps(changed))
    args = dict(grafana_double.connection(), path=str(original), folder_uid="platform",
                inputs={"DS_PROMETHEUS": "prometheus"})  # fmt: skip
    check, apply, check_again, again = steps = run_tasks(
        [
            {"module": "grafana_dashboard", "args": args, "check": True, "diff": True},
            {"module": "grafana_dashboard", "args": args, "diff": True},
            {"module": "grafana_dashboard", "args": args, "check": True, "diff": True},
            {"module": "grafana_dashboard", "args": args},
        ],
        tmp_path,
    )
    assert not any(step.get("failed") for step in steps), steps

    assert check["changed"] is True and check["diff"]["before"] == {}
    planned = check["diff"]["after"]["dashboard"]
    assert planned["panels"][0]["datasource"] == {"type": "prometheus", "uid": "prometheus"}
    assert planned["panels"][1]["panels"][0]["title"] == "Job ${job}"  # not a declared input: kept
    assert grafana_double.writes_during(check) == []

    assert apply["changed"] is True and apply["version"] == 1 and apply["folder_uid"] == "platform"
    (save,) = grafana_double.writes_during(apply)
    assert save["path"] == "/api/dashboards/db" and save["body"]["overwrite"] is False
    assert save["body"]["folderUid"] == "platform"
    posted = save["body"]["dashboard"]
    assert "id" not in posted and not {"__inputs", "__requires", "__elements"} & set(posted)
    assert posted == {k: v for k, v in resolved().items() if k != "id"}

    for step in (check_again, again):
        assert step["changed"] is False and "diff" not in step, step
        assert grafana_double.writes_during(step) == []
        assert {r["method"] for r in grafana_double.requests_during(step)} == {"GET"}
    assert again["version"] == 1

    # One field changes: exactly that field in the diff; saved with overwrite, Grafana's version + 1.
    mark = len(grafana_double.requests)
    change = call_module("grafana_dashboard", dict(args, path=str(edited)), diff=True)
    assert change["changed"] is True and change["version"] == 2
    before, after = change["diff"]["before"], change["diff"]["after"]
    assert after["dashboard"]["panels"][0]["title"] == "Running allocations (all jobs)"
    after["dashboard"]["panels"][0]["title"] = "Running allocations"
    assert before == after
    (save,) = grafana_double.writes(mark)
    assert save["body"]["overwrite"] is True and "id" not in save["body"]["dashboard"]

    absent = dict(grafana_double.connection(), uid="nomad-cluster", state="absent")
    mark = len(grafana_double.requests)
    delete = call_module("grafana_dashboard", absent, diff=True)
    assert delete["changed"] is True and delete["diff"]["after"] == {}
    assert [(r["method"], r["path"]) for r in grafana_double.writes(mark)] == [
        ("DELETE", "/api/dashboards/uid/nomad-cluster")
    ]
    mark = len(grafana_double.requests)
    assert call_module("grafana_dashboard", absent)["changed"] is False and grafana_double.writes(mark) == []


def test_inputs_are_resolved_like_grafanas_import_against_the_double(grafana_double):
    """Against the Grafana API test double: a missing input fails naming it, before any request."""
    conn = grafana_double.connection()
    missing = call_module("grafana_dashboard", dict(conn, dashboard=EXPORTED))
    assert missing["failed"] is True
    assert missing["msg"] == "dashboard: Dashboard input variable: DS_PROMETHEUS missing from inputs"
    assert grafana_double.requests == []

    with_expression = copy.deepcopy(EXPORTED)
    with_expression["__inputs"].append({"name": "DS_EXPR", "type": "datasource", "pluginId": "__expr__"})
    with_expression["panels"][0]["targets"].append({"refId": "B", "datasource": {"uid": "${DS_EXPR}"}})
    result = call_module("grafana_dashboard", dict(conn, dashboard=with_expression, inputs={"DS_PROMETHEUS": "p1"}))
    assert result["changed"] is True, result
    stored = grafana_double.dashboards["nomad-cluster"]["data"]
    assert stored["panels"][0]["targets"][1]["datasource"] == {"uid": "__expr__"}
    assert stored["panels"][0]["datasource"]["uid"] == "p1" and stored["templating"]["list"][0]["datasource"][
        "uid"
    ] == ("p1")
    # A JSON string works as well as a dict; unused inputs are only a warning.
    again = call_module("grafana_dashboard", dict(conn, dashboard=json.dumps(resolved()), inputs={"X": "y"}))
    assert again["changed"] is True and again["warnings"] == [
        "inputs: the dashboard declares no __inputs, so inputs are not used"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"dashboard": [1, 2]}, "dashboard: the dashboard is not a JSON object (got list)"),
        ({"dashboard": "[]"}, "dashboard: the dashboard is not a JSON object (got list)"),
        ({"dashboard": "{not json"}, "dashboard: not valid JSON"),
        ({"dashboard": {"uid": "a", "title": "   "}}, "dashboard: the dashboard has no title"),
        ({"dashboard": {"uid": "a"}}, "dashboard: the dashboard has no title"),
        ({"dashboard": {"uid": "u" * 41, "title": "T"}}, "dashboard: uid: '" + "u" * 41 + "' is 41 characters long"),
        ({"dashboard": {"uid": "a.b", "title": "T"}}, "dashboard: uid: 'a.b' contains characters"),
        ({"dashboard": {"title": "T"}, "uid": "u" * 41}, "uid: '" + "u" * 41 + "' is 41 characters long"),
        ({"dashboard": {"title": "T"}}, "uid: required"),
        ({"dashboard": {"uid": "a", "title": "T"}, "uid": "b"}, "uid: b does not match the uid in the dashboard"),
        ({"dashboard": {"uid": "a", "title": "T"}, "folder_uid": "f f"}, "folder_uid: 'f f' contains characters"),
        ({"dashboard": {"uid": "a", "title": "T"}, "version_message": "m" * 501}, "version_message: longer than"),
        ({"path": "/nonexistent/dashboard.json"}, "path: cannot read /nonexistent/dashboard.json"),
    ],
)
def test_bad_input_is_refused_before_any_request_against_the_double(grafana_double, args, message):
    """Against the Grafana API test double: not an object, no title, a 41-character uid... nothing is sent."""
    result = call_module("grafana_dashboard", dict(grafana_double.connection(), **args))
    assert result["failed"] is True and result["msg"].startswith(message), result["msg"]
    assert grafana_double.requests == []


def test_an_unknown_folder_fails_before_any_write_against_the_double(grafana_double):
    """Against the Grafana API test double: folder_uid is checked with GET /api/folders/<uid> first."""
    args = dict(grafana_double.connection(), dashboard=resolved(), folder_uid="nope")
    result = call_module("grafana_dashboard", args)
    assert result["failed"] is True and result["msg"] == "folder_uid: Grafana has no folder with uid nope"
    assert [(r["method"], r["path"]) for r in grafana_double.requests] == [("GET", "/api/folders/nope")]
    checked = call_module("grafana_dashboard", args, check=True)
    assert checked["changed"] is True and checked["warnings"][0].startswith("folder_uid: no folder nope")
    assert grafana_double.writes() == []


@pytest.mark.parametrize("conflict_status", [412, 409])
def test_create_answered_412_or_409_is_read_back_and_overwritten_against_the_double(grafana_double, conflict_status):
    """Against the Grafana API test double: created meanwhile (412, or 409 as Grafana main answers); 409/412 alike."""
    grafana_double.version_conflict_status = conflict_status
    rival = dict(resolved(), title="Someone else's")

    def someone_else_creates_it(method, path):
        if method == "POST" and path == "/api/dashboards/db" and "nomad-cluster" not in grafana_double.dashboards:
            grafana_double.add_dashboard(rival)

    grafana_double.before_request.append(someone_else_creates_it)
    result = call_module("grafana_dashboard", dict(grafana_double.connection(), dashboard=resolved()), diff=True)
    assert result["changed"] is True and result["version"] == 2, result
    assert result["diff"]["before"]["dashboard"]["title"] == "Someone else's"
    assert [r["body"]["overwrite"] for r in posts(grafana_double)] == [False, True]
    assert grafana_double.dashboards["nomad-cluster"]["data"]["title"] == "Nomad cluster"


def test_a_title_taken_in_the_folder_before_grafana_11_3_fails_with_grafanas_message_against_the_double(
    grafana_double,
):
    """Against the Grafana API test double, in its <=11.2 mode: 412 name-exists is reported, nothing is taken over."""
    grafana_double.name_exists = True
    grafana_double.add_dashboard({"uid": "other", "title": "Nomad cluster"})
    result = call_module("grafana_dashboard", dict(grafana_double.connection(), dashboard=resolved()))
    assert result["failed"] is True and result["status"] == 412
    assert "answered HTTP 412: A dashboard with the same name in the folder already exists" in result["msg"]
    assert "no dashboard with uid nomad-cluster" in result["msg"]
    assert set(grafana_double.dashboards) == {"other"}


def test_provisioned_dashboards_are_reported_not_changed_against_the_double(grafana_double):
    """Against the Grafana API test double: a seeded provisioned dashboard fails only when a change is needed."""
    grafana_double.add_dashboard(resolved(), provisioned=True)
    conn = grafana_double.connection()
    same = call_module("grafana_dashboard", dict(conn, dashboard=resolved()))
    assert same["changed"] is False and same["provisioned"] is True
    other = call_module("grafana_dashboard", dict(conn, dashboard=dict(resolved(), title="Renamed")), diff=True)
    assert other["failed"] is True
    assert other["msg"] == (
        "dashboard nomad-cluster is provisioned (nomad-cluster.json), cannot be changed through the API; "
        "change its file"
    )
    assert other["diff"]["after"]["dashboard"]["title"] == "Renamed"
    gone = call_module("grafana_dashboard", dict(conn, uid="nomad-cluster", state="absent"))
    assert gone["failed"] is True and "cannot be deleted through the API" in gone["msg"]
    assert grafana_double.writes() == []


def test_what_grafana_adds_is_not_a_difference_but_an_edit_or_a_move_is_against_the_double(grafana_double):
    """Against the Grafana API test double: ids and versions are ignored; a UI edit or another folder is not."""
    grafana_double.add_folder("platform", "Platform")
    conn = grafana_double.connection()
    desired = dict(resolved(), id=4242, version=7)  # an unknown id would be a 404 if it were posted
    first = call_module("grafana_dashboard", dict(conn, dashboard=desired, folder_uid="platform"))
    assert first["changed"] is True and "id" not in posts(grafana_double)[0]["body"]["dashboard"]
    assert call_module("grafana_dashboard", dict(conn, dashboard=desired, folder_uid="platform"))["changed"] is False

    # Someone edits it in the UI (a save with overwrite, version 2): the module puts its own JSON back.
    edited = copy.deepcopy(grafana_double.dashboards["nomad-cluster"]["data"])
    edited["panels"][0]["title"] = "Edited in the UI"
    grafana_double.add_dashboard(dict(edited, version=1), folder_uid="platform")
    mark = len(grafana_double.requests)
    restored = call_module("grafana_dashboard", dict(conn, dashboard=desired, folder_uid="platform"), diff=True)
    assert restored["changed"] is True and restored["version"] == 3
    assert restored["diff"]["before"]["dashboard"]["panels"][0]["title"] == "Edited in the UI"
    assert [r["body"]["overwrite"] for r in posts(grafana_double, mark)] == [True]

    # Without folder_uid the dashboard belongs at the root: it is moved there.
    moved = call_module("grafana_dashboard", dict(conn, dashboard=desired), diff=True)
    assert moved["changed"] is True and moved["folder_uid"] is None
    assert moved["diff"]["before"]["folder_uid"] == "platform" and moved["diff"]["after"]["folder_uid"] is None
    assert moved["diff"]["before"]["dashboard"] == moved["diff"]["after"]["dashboard"]
    assert grafana_double.dashboards["nomad-cluster"]["folderUid"] == ""
    assert all(r["method"] not in WRITE_METHODS or r["path"] == "/api/dashboards/db" for r in grafana_double.requests)
