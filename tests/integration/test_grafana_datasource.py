"""grafana_datasource against the Grafana API test double (grafana_api_double.py), not a real Grafana.

The headline sequence runs through ansible-playbook; the edge cases run the module's main() in this
process (modules.call_module), the same module code without the executor's start-up.
"""

import json

import pytest
from modules import call_module, module_code, run_tasks

module_code("grafana_datasource")  # imported at collection (see module_code)

SECRET = "prometheus-basic-auth-secret"  # noqa: S105 - a test value


def prometheus(double, **extra):
    args = dict(double.connection(), uid="prometheus", name="Prometheus", type="prometheus")
    args.update(datasource_url="http://127.0.0.1:9090", json_data={"httpMethod": "POST", "timeInterval": "15s"})
    args.update(extra)
    return args


def test_datasource_check_apply_again_change_delete_against_the_double(grafana_double, tmp_path):
    """Against the Grafana API test double: the secret is sent once, never returned; a second run writes nothing.

    check --diff, apply, check --diff again and apply again run through ansible-playbook; the change and the
    two deletes run in-process.
    """
    args = prometheus(grafana_double, basic_auth=True, basic_auth_user="grafana",
                      secure_json_data={"basicAuthPassword": SECRET})  # fmt: skip
    check, apply, check_again, again = steps = run_tasks(
        [
            {"module": "grafana_datasource", "args": args, "check": True, "diff": True},
            {"module": "grafana_datasource", "args": args, "diff": True},
            {"module": "grafana_datasource", "args": args, "check": True, "diff": True},
            {"module": "grafana_datasource", "args": args},
        ],
        tmp_path,
    )
    assert not any(step.get("failed") for step in steps), steps
    assert SECRET not in json.dumps(steps, default=str), "the secret reached a result"

    assert check["changed"] is True and check["diff"]["before"] == {}
    assert check["diff"]["after"]["secureJsonData"] == {"basicAuthPassword": "********"}
    assert grafana_double.writes_during(check) == []

    assert apply["changed"] is True and apply["datasource"]["secureJsonFields"] == {"basicAuthPassword": True}
    (create,) = grafana_double.writes_during(apply)
    assert (create["method"], create["path"]) == ("POST", "/api/datasources")
    assert create["body"]["secureJsonData"] == {"basicAuthPassword": SECRET} and create["body"]["access"] == "proxy"

    for step in (check_again, again):
        assert step["changed"] is False and "diff" not in step, step
        assert grafana_double.writes_during(step) == []

    # One field changes: the diff shows only it, and the PUT carries the whole record and Grafana's version,
    # without the secret (Grafana keeps it).
    mark = len(grafana_double.requests)
    change = call_module("grafana_datasource", dict(args, datasource_url="http://10.0.0.5:9090"), diff=True)
    assert change["changed"] is True and SECRET not in json.dumps(change)
    assert change["diff"]["before"] == dict(change["diff"]["after"], url="http://127.0.0.1:9090")
    assert change["diff"]["after"]["url"] == "http://10.0.0.5:9090"
    (update,) = grafana_double.writes(mark)
    assert (update["method"], update["path"]) == ("PUT", "/api/datasources/uid/prometheus")
    assert update["body"]["version"] == 1 and "secureJsonData" not in update["body"]
    assert update["body"]["basicAuthUser"] == "grafana" and update["body"]["jsonData"]["timeInterval"] == "15s"
    assert grafana_double.datasources["prometheus"]["secureJsonData"] == {"basicAuthPassword": SECRET}
    assert change["datasource"]["version"] == 2 and change["datasource"]["url"] == "http://10.0.0.5:9090"

    absent = dict(grafana_double.connection(), uid="prometheus", state="absent")
    mark = len(grafana_double.requests)
    delete = call_module("grafana_datasource", absent, diff=True)
    assert delete["changed"] is True and delete["diff"]["after"] == {}
    assert [(r["method"], r["path"]) for r in grafana_double.writes(mark)] == [
        ("DELETE", "/api/datasources/uid/prometheus")
    ]
    mark = len(grafana_double.requests)
    assert call_module("grafana_datasource", absent)["changed"] is False and grafana_double.writes(mark) == []


def test_secrets_are_compared_by_presence_and_resent_only_when_asked_against_the_double(grafana_double):
    """Against the Grafana API test double: a new key is sent alone; enforce_secure_json_data sends all, always."""
    call_module("grafana_datasource", prometheus(grafana_double, secure_json_data={"basicAuthPassword": SECRET}))
    mark = len(grafana_double.requests)
    changed_secret = prometheus(grafana_double, secure_json_data={"basicAuthPassword": "another"})
    result = call_module("grafana_datasource", changed_secret)
    assert result["changed"] is False and grafana_double.writes(mark) == []  # Grafana cannot tell it differs

    both = prometheus(grafana_double, secure_json_data={"basicAuthPassword": "another", "httpHeaderValue1": "t"})
    result = call_module("grafana_datasource", both, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before"]["secureJsonFields"] == {"basicAuthPassword": True, "httpHeaderValue1": False}
    assert [w["body"]["secureJsonData"] for w in grafana_double.writes(mark)] == [{"httpHeaderValue1": "t"}]
    assert grafana_double.datasources["prometheus"]["secureJsonData"]["basicAuthPassword"] == SECRET

    mark = len(grafana_double.requests)
    enforced = dict(both, enforce_secure_json_data=True)
    for _run in range(2):
        result = call_module("grafana_datasource", enforced)
        assert result["changed"] is True and "another" not in json.dumps(result)
    sent = [w["body"]["secureJsonData"] for w in grafana_double.writes(mark)]
    assert sent == [{"basicAuthPassword": "another", "httpHeaderValue1": "t"}] * 2
    assert grafana_double.datasources["prometheus"]["secureJsonData"]["basicAuthPassword"] == "another"


def test_only_the_given_fields_are_compared_against_the_double(grafana_double):
    """Against the Grafana API test double: fields left out here are neither compared nor lost by an update."""
    grafana_double.add_datasource(uid="prometheus", name="Prometheus", type="prometheus", url="http://127.0.0.1:9090",
                                  access="proxy", database="kept", user="someone",
                                  jsonData={"httpMethod": "POST", "timeInterval": "15s"})  # fmt: skip
    result = call_module("grafana_datasource", prometheus(grafana_double))
    assert result["changed"] is False and grafana_double.writes() == []
    result = call_module("grafana_datasource", prometheus(grafana_double, is_default=True), diff=True)
    assert result["diff"] == {"before": dict(result["diff"]["after"], isDefault=False),
                              "after": result["diff"]["after"]}  # fmt: skip
    stored = grafana_double.datasources["prometheus"]
    assert stored["isDefault"] is True and stored["database"] == "kept" and stored["user"] == "someone"


def test_read_only_datasources_are_reported_not_changed_against_the_double(grafana_double):
    """Against the Grafana API test double: a provisioned (readOnly) datasource fails only when a change is needed."""
    grafana_double.add_datasource(uid="prometheus", name="Prometheus", type="prometheus", url="http://127.0.0.1:9090",
                                  jsonData={"httpMethod": "POST", "timeInterval": "15s"}, read_only=True)  # fmt: skip
    same = call_module("grafana_datasource", prometheus(grafana_double))
    assert same["changed"] is False and same["datasource"]["readOnly"] is True
    other = call_module("grafana_datasource", prometheus(grafana_double, datasource_url="http://x:9090"), True, True)
    assert other["failed"] is True and "is provisioned (readOnly), cannot be changed through the API" in other["msg"]
    assert other["diff"]["after"]["url"] == "http://x:9090"
    gone = call_module("grafana_datasource", dict(grafana_double.connection(), uid="prometheus", state="absent"))
    assert gone["failed"] is True and "cannot be deleted through the API" in gone["msg"]
    assert grafana_double.writes() == []


def test_a_name_held_by_another_uid_fails_naming_it_against_the_double(grafana_double):
    """Against the Grafana API test double: Grafana's 409 on the name, with the uid that holds it."""
    grafana_double.add_datasource(uid="old-prometheus", name="Prometheus", type="prometheus")
    result = call_module("grafana_datasource", prometheus(grafana_double))
    assert result["failed"] is True and result["status"] == 409
    assert "answered HTTP 409: data source with the same name already exists" in result["msg"]
    assert "belongs to the datasource with uid old-prometheus" in result["msg"]


@pytest.mark.parametrize("race", ["create", "update"])
def test_concurrent_writes_are_handled_or_refused_against_the_double(grafana_double, race):
    """Against the Grafana API test double: a create race is read back; a stale update gets Grafana's 409."""

    def someone_else(method, path):
        if race == "create" and method == "POST" and "prometheus" not in grafana_double.datasources:
            grafana_double.add_datasource(uid="prometheus", name="Prometheus", type="prometheus")
        if race == "update" and method == "PUT":
            grafana_double.datasources["prometheus"]["version"] += 1

    if race == "update":
        grafana_double.add_datasource(uid="prometheus", name="Prometheus", type="prometheus")
    grafana_double.before_request.append(someone_else)
    result = call_module("grafana_datasource", prometheus(grafana_double))
    if race == "create":
        assert result["changed"] is True and result["datasource"]["url"] == "http://127.0.0.1:9090", result
        assert [r["method"] for r in grafana_double.writes()] == ["POST", "PUT"]
    else:
        assert result["failed"] is True and result["status"] == 409
        assert "Datasource has already been updated by someone else" in result["msg"]


def test_bad_uid_is_refused_before_any_request_against_the_double(grafana_double):
    """Against the Grafana API test double: a 41-character uid is refused by the module itself."""
    result = call_module("grafana_datasource", prometheus(grafana_double, uid="p" * 41))
    assert result["failed"] is True and result["msg"].startswith("uid: 'pppp") and "at most 40" in result["msg"]
    assert grafana_double.requests == []
