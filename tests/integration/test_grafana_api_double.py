"""The Grafana API test double itself (not Grafana): the rules of GRAFANA_FACTS.md section D the modules rely on.

Every test here talks HTTP to the double (grafana_api_double.py); none of it ran against a real Grafana.
"""

import base64
import json
import urllib.error
import urllib.request

import pytest


def call(double, method, path, body=None, auth=True, raw=None, headers=None):
    """(status, decoded body) of one request to the double."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(double.url + path, data=data, method=method, headers=dict(headers or {}))
    if auth:
        token = base64.b64encode(f"{double.user}:{double.password}".encode()).decode()
        request.add_header("Authorization", "Basic " + token)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, text, kind = answer.status, answer.read(), answer.headers.get("Content-Type")
    except urllib.error.HTTPError as error:
        status, text, kind = error.code, error.read(), error.headers.get("Content-Type")
    if method == "HEAD":
        return status, kind
    return status, (json.loads(text) if text else None)


def save(double, dashboard, **body):
    return call(double, "POST", "/api/dashboards/db", dict({"dashboard": dashboard}, **body))


def test_double_health_needs_no_auth_and_answers_like_grafana(grafana_double):
    """Against the Grafana API test double: /api/health without credentials, GET and HEAD."""
    status, body = call(grafana_double, "GET", "/api/health", auth=False)
    assert status == 200 and body == {"commit": grafana_double.commit, "database": "ok", "version": "12.2.0"}
    assert call(grafana_double, "HEAD", "/api/health", auth=False) == (200, "application/json; charset=UTF-8")
    grafana_double.database_ok = False
    assert call(grafana_double, "GET", "/api/health", auth=False)[0] == 503


def test_double_auth_unknown_paths_and_bad_json(grafana_double):
    """Against the Grafana API test double: 401 texts, the login lockout, bearer tokens, 404, 400 bad request data."""
    assert call(grafana_double, "GET", "/api/folders", auth=False) == (401, {"message": "Unauthorized"})
    bearer = {"Authorization": "Bearer " + grafana_double.token}
    assert call(grafana_double, "GET", "/api/folders", auth=False, headers=bearer) == (200, [])
    assert call(grafana_double, "GET", "/api/no-such-thing") == (404, {"message": "Not found"})
    for path in ("/api/folders", "/api/dashboards/db", "/api/datasources"):
        assert call(grafana_double, "POST", path, raw=b"{not json") == (400, {"message": "bad request data"})
    assert call(grafana_double, "POST", "/api/folders", raw=b"[1, 2]") == (400, {"message": "bad request data"})
    recorded = grafana_double.requests[-1]
    assert recorded["method"] == "POST" and recorded["path"] == "/api/folders" and recorded["body"] == [1, 2]
    assert recorded["headers"]["authorization"].startswith("Basic ")

    wrong = {"Authorization": "Basic " + base64.b64encode(b"admin:wrong").decode()}
    assert call(grafana_double, "GET", "/api/folders", auth=False, headers=wrong) == (
        401,
        {"message": "Invalid username or password"},
    )
    for _attempt in range(4):  # five failures in all lock the user out, even with the right password
        call(grafana_double, "GET", "/api/folders", auth=False, headers=wrong)
    assert call(grafana_double, "GET", "/api/folders") == (401, {"message": "Invalid username or password"})
    assert call(grafana_double, "GET", "/api/folders", auth=False, headers=bearer) == (200, [])


@pytest.mark.parametrize(
    ("uid", "message"),
    [("a b", "uid contains illegal characters"), ("x" * 41, "uid too long, max 40 characters"),
     ("ü" * 41, "uid contains illegal characters")],
)  # fmt: skip
def test_double_uid_rules_for_folders_and_dashboards(grafana_double, uid, message):
    """Against the Grafana API test double: Grafana's uid messages, characters checked before length."""
    assert call(grafana_double, "POST", "/api/folders", {"uid": uid, "title": "T"}) == (400, {"message": message})
    assert save(grafana_double, {"uid": uid, "title": "T"}) == (400, {"message": message})
    assert call(grafana_double, "POST", "/api/folders", {"uid": "x" * 40, "title": "T"})[0] == 200


def test_double_folders_conflicts_children_versions_move_and_cascade(grafana_double):
    """Against the Grafana API test double: 412 on a duplicate uid (409 when switched), 409 on a duplicate title."""
    status, parent = call(grafana_double, "POST", "/api/folders", {"uid": "p", "title": "Parent"})
    assert status == 200 and parent["version"] == 1 and parent["url"] == "/dashboards/f/p/parent"
    assert "parentUid" not in parent
    assert call(grafana_double, "POST", "/api/folders", {"uid": "p", "title": "Other"}) == (
        412,
        {"message": "the folder has been changed by someone else", "status": "version-mismatch"},
    )
    grafana_double.folder_uid_conflict_status = 409
    assert call(grafana_double, "POST", "/api/folders", {"uid": "p", "title": "Other"})[0] == 409
    assert call(grafana_double, "POST", "/api/folders", {"uid": "q", "title": "parent"}) == (
        409,
        {"message": "a folder with the same name already exists in the current location"},
    )
    assert call(grafana_double, "POST", "/api/folders", {"title": "General"})[0] == 400
    assert call(grafana_double, "POST", "/api/folders", {"title": "  "}) == (
        400,
        {"message": "folder title cannot be empty"},
    )
    assert call(grafana_double, "POST", "/api/folders", {"uid": "c", "title": "C", "parentUid": "nope"}) == (
        404,
        {"message": "folder not found", "status": "not-found"},
    )
    status, child = call(grafana_double, "POST", "/api/folders", {"uid": "c", "title": "Child", "parentUid": "p"})
    assert status == 200 and child["parentUid"] == "p" and [a["uid"] for a in child["parents"]] == ["p"]
    generated = call(grafana_double, "POST", "/api/folders", {"title": "Generated"})[1]["uid"]
    assert generated[0].isalpha() and len(generated) <= 40
    # Listing: immediate children only.
    assert [f["uid"] for f in call(grafana_double, "GET", "/api/folders")[1]] == [generated, "p"]
    assert [f["uid"] for f in call(grafana_double, "GET", "/api/folders?parentUid=p")[1]] == ["c"]
    # PUT: version must match (or overwrite), then +1; the parent never changes.
    assert call(grafana_double, "PUT", "/api/folders/c", {"title": "Renamed"})[0] == 412
    status, renamed = call(grafana_double, "PUT", "/api/folders/c", {"title": "Renamed", "version": 1})
    assert status == 200 and renamed["version"] == 2 and renamed["parentUid"] == "p"
    assert call(grafana_double, "PUT", "/api/folders/c", {"title": "Again", "overwrite": True})[1]["version"] == 3
    # Move, and no cycles.
    assert call(grafana_double, "POST", "/api/folders/p/move", {"parentUid": "c"})[0] == 400
    status, moved = call(grafana_double, "POST", "/api/folders/c/move", {"parentUid": ""})
    assert status == 200 and "parentUid" not in moved
    call(grafana_double, "POST", "/api/folders/c/move", {"parentUid": "p"})
    # Delete cascades to subfolders and the dashboards inside.
    assert save(grafana_double, {"uid": "d", "title": "D"}, folderUid="c")[0] == 200
    assert call(grafana_double, "DELETE", "/api/folders/p")[1]["message"] == "Folder deleted"
    assert call(grafana_double, "GET", "/api/folders/c")[0] == 404
    assert call(grafana_double, "GET", "/api/dashboards/uid/d") == (404, {"message": "Dashboard not found"})


def test_double_dashboard_save_rules_in_grafanas_order(grafana_double):
    """Against the Grafana API test double: save steps 1-7, and version + 1 on every save, even an identical one."""
    assert save(grafana_double, {"uid": "d", "title": "  "}) == (
        400,
        {"message": "Dashboard title cannot be empty", "status": "empty-name"},
    )
    assert save(grafana_double, {"uid": "d", "title": "T"}, message="m" * 501)[0] == 400
    # An unknown folder is 400, not 404, and is checked before the id.
    assert save(grafana_double, {"uid": "d", "title": "T", "id": 99}, folderUid="nope") == (
        400,
        {"message": "folder not found"},
    )
    assert save(grafana_double, {"uid": "d", "title": "T", "id": 99}) == (
        404,
        {"message": "Dashboard not found", "status": "not-found"},
    )
    status, first = save(grafana_double, {"uid": "d", "title": " T "})
    assert status == 200 and first["version"] == 1 and first["url"] == "/d/d/t" and first["status"] == "success"
    assert set(first) == {"id", "uid", "url", "status", "version", "slug"}
    assert save(grafana_double, {"uid": "d", "title": "T"}) == (
        412,
        {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"},
    )
    assert save(grafana_double, {"uid": "d", "title": "T", "version": 1})[1]["version"] == 2  # equal version
    assert save(grafana_double, {"uid": "d", "title": "T"}, overwrite=True)[1]["version"] == 3  # identical content
    grafana_double.version_conflict_status = 409
    assert save(grafana_double, {"uid": "d", "title": "T", "version": 1}) == (
        409,
        {"message": "Dashboard already exists. Use overwrite flag to update."},
    )
    other = save(grafana_double, {"uid": "e", "title": "E"})[1]
    assert save(grafana_double, {"uid": "d", "title": "T", "id": other["id"]}, overwrite=True) == (
        400,
        {"message": "A dashboard with the same uid already exists"},
    )
    stored = call(grafana_double, "GET", "/api/dashboards/uid/d")[1]["dashboard"]
    assert stored == {"uid": "d", "title": "T", "id": first["id"], "version": 3}


def test_double_dashboard_meta_provisioned_plugin_and_name_exists(grafana_double):
    """Against the Grafana API test double: meta at the root and in a folder; seeded provisioned dashboards."""
    call(grafana_double, "POST", "/api/folders", {"uid": "f", "title": "Folder"})
    save(grafana_double, {"uid": "root", "title": "Root"})
    save(grafana_double, {"uid": "inside", "title": "Inside"}, folderUid="f")
    meta = call(grafana_double, "GET", "/api/dashboards/uid/root")[1]["meta"]
    assert meta["folderTitle"] == "General" and "folderUid" not in meta and meta["provisioned"] is False
    assert meta["type"] == "db" and meta["isFolder"] is False and meta["version"] == 1
    meta = call(grafana_double, "GET", "/api/dashboards/uid/inside")[1]["meta"]
    assert (
        meta["folderUid"] == "f" and meta["folderTitle"] == "Folder" and meta["folderUrl"] == "/dashboards/f/f/folder"
    )
    # A missing folderUid moves the dashboard to the root.
    save(grafana_double, {"uid": "inside", "title": "Inside"}, overwrite=True)
    assert "folderUid" not in call(grafana_double, "GET", "/api/dashboards/uid/inside")[1]["meta"]

    grafana_double.add_dashboard({"uid": "prov", "title": "Prov"}, provisioned=True)
    meta = call(grafana_double, "GET", "/api/dashboards/uid/prov")[1]["meta"]
    assert meta["provisioned"] is True and meta["provisionedExternalId"] == "prov.json"
    assert save(grafana_double, {"uid": "prov", "title": "X"}, overwrite=True) == (
        400,
        {"message": "Cannot save provisioned dashboard"},
    )
    assert call(grafana_double, "DELETE", "/api/dashboards/uid/prov") == (
        400,
        {"message": "provisioned dashboard cannot be deleted"},
    )
    grafana_double.add_dashboard({"uid": "ui", "title": "UI"}, provisioned=True, allow_ui_updates=True)
    assert call(grafana_double, "GET", "/api/dashboards/uid/ui")[1]["meta"]["provisioned"] is False
    assert save(grafana_double, {"uid": "ui", "title": "UI 2"}, overwrite=True)[0] == 200
    grafana_double.add_dashboard({"uid": "plug", "title": "Plug"}, plugin_id="prometheus")
    assert save(grafana_double, {"uid": "plug", "title": "Plug", "version": 1}) == (
        412,
        {"message": "The dashboard belongs to plugin prometheus.", "status": "plugin-dashboard"},
    )
    # Titles are not unique (11.3+) unless the <=11.2 rule is switched on.
    assert save(grafana_double, {"uid": "twin", "title": "Root"})[0] == 200
    grafana_double.name_exists = True
    assert save(grafana_double, {"uid": "triplet", "title": "root"}) == (
        412,
        {"message": "A dashboard with the same name in the folder already exists", "status": "name-exists"},
    )
    assert call(grafana_double, "DELETE", "/api/dashboards/uid/root") == (
        200,
        {"title": "Root", "message": "Dashboard Root deleted", "uid": "root"},
    )


def test_double_import_substitutes_declared_inputs_only(grafana_double):
    """Against the Grafana API test double: the import endpoint's __inputs rules, and 500 for a missing input."""
    template = {
        "__inputs": [{"name": "DS_PROM", "type": "datasource", "pluginId": "prometheus"},
                     {"name": "DS_EXPR", "type": "datasource", "pluginId": "__expr__"}],
        "__requires": [{"type": "panel", "id": "stat"}], "__elements": {},
        "uid": "imp", "title": "Imported ${DS_PROM}", "revision": 3,
        "panels": [{"datasource": {"uid": "${DS_PROM}"}, "targets": [{"expr": "${OTHER} ${DS_EXPR}"}], "id": 2}],
    }  # fmt: skip
    assert call(grafana_double, "POST", "/api/dashboards/import", {"inputs": []}) == (
        422,
        {"message": "Dashboard must be set"},
    )
    status, body = call(grafana_double, "POST", "/api/dashboards/import", {"dashboard": template, "inputs": []})
    assert status == 500
    inputs = [{"name": "*", "type": "datasource", "pluginId": "prometheus", "value": "prom-uid"}]
    status, body = call(grafana_double, "POST", "/api/dashboards/import", {"dashboard": template, "inputs": inputs})
    assert status == 200 and body["imported"] is True and body["importedUri"] == "db/imported-prom-uid"
    assert body["revision"] == 3 and body["importedUrl"] == "/d/imp/imported-prom-uid"
    stored = call(grafana_double, "GET", "/api/dashboards/uid/imp")[1]["dashboard"]
    assert not {"__inputs", "__requires", "__elements"} & set(stored)
    assert stored["panels"][0]["datasource"] == {"uid": "prom-uid"}
    assert stored["panels"][0]["targets"][0]["expr"] == "${OTHER} __expr__"


def test_double_datasources_names_versions_secrets_read_only_default(grafana_double):
    """Against the Grafana API test double: whole-record PUT keeping omitted secrets, versions, 403 read-only."""
    body = {"uid": "a", "name": "A", "type": "prometheus", "access": "proxy", "url": "http://a", "database": "db",
            "isDefault": True, "jsonData": {"httpMethod": "POST"}, "secureJsonData": {"password": "s3"}}  # fmt: skip
    status, created = call(grafana_double, "POST", "/api/datasources", body)
    assert status == 200 and created["message"] == "Datasource added" and created["datasource"]["version"] == 1
    assert call(grafana_double, "POST", "/api/datasources", dict(body, uid="b")) == (
        409,
        {"message": "data source with the same name already exists"},
    )
    assert call(grafana_double, "POST", "/api/datasources", dict(body, name="B")) == (
        409,
        {"message": "data source with the same uid already exists"},
    )
    dto = call(grafana_double, "GET", "/api/datasources/uid/a")[1]
    assert "secureJsonData" not in dto and dto["secureJsonFields"] == {"password": True}
    assert "s3" not in json.dumps(call(grafana_double, "GET", "/api/datasources")[1])
    # A PUT replaces the record: omitted database/jsonData are emptied, omitted secrets kept, version = body + 1.
    replace = {"name": "A", "type": "prometheus", "version": 1}
    status, updated = call(grafana_double, "PUT", "/api/datasources/uid/a", replace)
    assert status == 200 and updated["message"] == "Datasource updated"
    after = updated["datasource"]
    assert after["database"] == "" and after["jsonData"] == {} and after["isDefault"] is False
    assert after["url"] == "http://a" and after["secureJsonFields"] == {"password": True} and after["version"] == 2
    assert grafana_double.datasources["a"]["secureJsonData"] == {"password": "s3"}
    assert call(grafana_double, "PUT", "/api/datasources/uid/a", {"name": "A", "version": 1})[0] == 409  # stale
    assert call(grafana_double, "PUT", "/api/datasources/uid/a", {"name": "A"})[1]["datasource"]["version"] == 1
    # isDefault is exclusive.
    call(grafana_double, "POST", "/api/datasources", {"uid": "b", "name": "B", "type": "loki", "isDefault": True})
    call(grafana_double, "PUT", "/api/datasources/uid/a", {"name": "A", "isDefault": True})
    assert call(grafana_double, "GET", "/api/datasources/uid/b")[1]["isDefault"] is False
    assert call(grafana_double, "PUT", "/api/datasources/uid/a", {"name": "B"}) == (
        409,
        {"message": "Failed to update datasource: data source with the same name already exists"},
    )
    grafana_double.add_datasource(uid="ro", name="RO", type="prometheus", read_only=True)
    assert call(grafana_double, "PUT", "/api/datasources/uid/ro", {"name": "RO"}) == (
        403,
        {"message": "Cannot update read-only data source"},
    )
    assert call(grafana_double, "DELETE", "/api/datasources/uid/ro") == (
        403,
        {"message": "Cannot delete read-only data source"},
    )
    assert call(grafana_double, "DELETE", "/api/datasources/uid/b")[1]["message"] == "Data source deleted"
    assert call(grafana_double, "GET", "/api/datasources/uid/b") == (404, {"message": "Data source not found"})


def test_double_search_filters_and_pages(grafana_double):
    """Against the Grafana API test double: search by type, query, uids, folders, tags, limit and page."""
    call(grafana_double, "POST", "/api/folders", {"uid": "f", "title": "Folder"})
    save(grafana_double, {"uid": "a", "title": "Alpha", "tags": ["ml", "gpu"]}, folderUid="f")
    save(grafana_double, {"uid": "b", "title": "Beta", "tags": ["ml"]})
    save(grafana_double, {"uid": "c", "title": "Gamma"})

    def uids(query):
        return [hit["uid"] for hit in call(grafana_double, "GET", "/api/search?" + query)[1]]

    assert uids("") == ["a", "b", "f", "c"]
    assert uids("type=dash-folder") == ["f"]
    assert uids("type=dash-db&query=AL") == ["a"]
    assert uids("tag=ml&tag=gpu") == ["a"]
    assert uids("dashboardUIDs=b&dashboardUIDs=c") == ["b", "c"]
    assert uids("type=dash-db&folderUIDs=f") == ["a"]
    assert uids("type=dash-db&limit=2&page=2") == ["c"]
    hit = call(grafana_double, "GET", "/api/search?dashboardUIDs=a")[1][0]
    assert hit["type"] == "dash-db" and hit["folderUid"] == "f" and hit["url"] == "/d/a/alpha"
