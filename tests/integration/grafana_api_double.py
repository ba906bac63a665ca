"""Grafana API test double: an in-process HTTP server that answers a small part of Grafana's HTTP API.

It is NOT Grafana. No Grafana program can be had on these machines, so the
Grafana modules are tested against this double, which implements section D
of /work/shared/GRAFANA_FACTS.md and only that: health, basic auth and
service-account tokens, folders (nested, moves, cascading deletes),
dashboards (the save rules 1-7 in Grafana's order, reads, deletes, search,
import with __inputs) and datasources (whole-record updates, versions,
read-only ones, secrets never echoed). Statuses and messages are Grafana's
own, taken from its source (paths in GRAFANA_FACTS.md); a request real
Grafana refuses, the double refuses the same way.

It does not pretend anything else: no panel queries or rendering, no
datasource health checks, no users, orgs or permissions beyond one admin
(with Grafana's login lockout) and one token, no alerting, library panels, version history, schema migrations
or /apis, and no file provisioning (provisioned dashboards and read-only
datasources are seeded by tests). A test that passes here shows the modules
follow the documented API; it says nothing about a real Grafana's behaviour
beyond that.

Every request is recorded (method, path, query, headers, JSON body, time),
so tests can assert that check mode or an unchanged object sent no write.
"""

from __future__ import annotations

import base64
import copy
import datetime
import itertools
import json
import re
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

UID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]*$")
TEMPLATE_VARIABLE = re.compile(r"\$\{.+?\}")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

MSG_BAD_REQUEST = "bad request data"
MSG_UID_CHARS = "uid contains illegal characters"
MSG_UID_LONG = "uid too long, max 40 characters"
MSG_FOLDER_NOT_FOUND = "folder not found"
MSG_FOLDER_CHANGED = "the folder has been changed by someone else"
MSG_DASHBOARD_CHANGED = "The dashboard has been changed by someone else"
MSG_DASHBOARD_NOT_FOUND = "Dashboard not found"
MSG_DS_NOT_FOUND = "Data source not found"
MSG_DS_NAME_EXISTS = "data source with the same name already exists"
MSG_DS_UID_EXISTS = "data source with the same uid already exists"


class APIError(Exception):
    """An error answer: HTTP status and Grafana's JSON body."""

    def __init__(self, code, message, **extra):
        super().__init__(message)
        self.code = code
        self.body = {"message": message, **extra}


def now():
    return datetime.datetime.now(datetime.UTC)


def stamp():
    return now().strftime("%Y-%m-%dT%H:%M:%SZ")


def slugify(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def generate_uid():
    """A uid with a letter first (the double's format, not Grafana's)."""
    return "d" + uuid.uuid4().hex[:13]


def check_uid(uid):
    """Grafana's order: the characters first, then the length."""
    if not UID_PATTERN.match(uid):
        raise APIError(400, MSG_UID_CHARS)
    if len(uid) > 40:
        raise APIError(400, MSG_UID_LONG)


def as_int(value):
    """What Go's simplejson MustInt64 makes of a JSON value (0 when not a whole number)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return 0


def as_str(value):
    return value if isinstance(value, str) else ""


class GrafanaAPIDouble:
    """The Grafana API test double; start() it, use .url, stop() it.

    Switches (attributes, set before or between requests):
      folder_uid_conflict_status  412 (Grafana 9 to 12, the default) or 409 (the documented answer)
      name_exists                 the <=11.2 rule: same dashboard title in one folder -> 412 name-exists
      version_conflict_status     412 (default) or 409 (Grafana main after v13.0.1)
      fail_wrong_ds_uid           refuse bad datasource uids (the failWrongDSUID feature flag; off by default)
    Seeding (test fixtures): add_folder, add_dashboard (provisioned or plugin-owned), add_datasource (read-only).
    before_request: callables (method, path) run before each request, to play a concurrent writer.
    """

    def __init__(self, version="12.2.0", user="admin", password="double-admin-secret", token="glsa_double_0123"):  # noqa: S107
        self.version = version
        self.commit = "0000000double"
        self.user = user
        self.password = password
        self.token = token
        self.database_ok = True
        self.hide_version = False
        self.folder_uid_conflict_status = 412
        self.name_exists = False
        self.version_conflict_status = 412
        self.fail_wrong_ds_uid = False
        self.before_request = []
        self._failed_logins = {}
        self.requests = []
        self.errors = []  # the double's own failures (tracebacks), which the fixture reports
        self.lock = threading.RLock()
        self.folders = {}
        self.dashboards = {}
        self.datasources = {}
        self._ids = itertools.count(1)  # folders and dashboards share Grafana's dashboard id sequence
        self._datasource_ids = itertools.count(1)
        self._server = None
        self._thread = None

    # ----- lifecycle -------------------------------------------------------------------------------------------

    def start(self):
        double = self

        class Handler(_Handler):
            pass

        Handler.double = double
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="grafana-api-double", daemon=True
        )  # a short poll interval: stop() returns at once
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ----- request log -----------------------------------------------------------------------------------------

    def writes(self, since=0):
        """The recorded write requests (POST, PUT, PATCH, DELETE), from request number since on."""
        with self.lock:
            return [r for r in self.requests[since:] if r["method"] in WRITE_METHODS]

    def requests_during(self, result):
        """The requests received while one task of modules.run_tasks ran (its _started/_ended window)."""
        with self.lock:
            return [r for r in self.requests if result["_started"] <= r["time"] <= result["_ended"]]

    def writes_during(self, result):
        return [r for r in self.requests_during(result) if r["method"] in WRITE_METHODS]

    def connection(self, token=False):
        """Module connection options for this double (basic auth, or its service-account token)."""
        if token:
            return {"url": self.url, "token": self.token}
        return {"url": self.url, "url_username": self.user, "url_password": self.password}

    # ----- seeding ---------------------------------------------------------------------------------------------

    def add_folder(self, uid, title, parent_uid=None):
        with self.lock:
            return self._create_folder({"uid": uid, "title": title, "parentUid": parent_uid or ""})

    def add_dashboard(self, dashboard, folder_uid=None, provisioned=False, allow_ui_updates=False, plugin_id=""):
        """Store a dashboard as a save would; provisioned ones carry a provider file path like Grafana's."""
        with self.lock:
            record = self._save_dashboard({"dashboard": copy.deepcopy(dashboard), "folderUid": folder_uid or ""})
            if provisioned:
                record["provisioning"] = {
                    "allow_ui_updates": allow_ui_updates,
                    "external_id": f"{record['uid']}.json",
                }
            record["plugin_id"] = plugin_id
            return record

    def add_datasource(self, read_only=False, **fields):
        with self.lock:
            record = self._create_datasource(fields)
            record["readOnly"] = read_only
            return record

    # ----- dispatch --------------------------------------------------------------------------------------------

    def handle(self, method, path, query, headers, raw):
        """(status, body, content type) for one request; body is a JSON-able value, text, or None."""
        with self.lock:
            for hook in list(self.before_request):
                hook(method, path)
            if path in ("/api/health",) and method in ("GET", "HEAD"):
                return self._health()
            try:
                self._authenticate(headers)
                route = self._route(method, path)
                if route is None:
                    raise APIError(404, "Not found")
                handler, args = route
                return 200, handler(query, raw, *args), None
            except APIError as error:
                return error.code, error.body, None
            except Exception as error:  # a bug of the double: fail the test loudly (see the fixture)
                self.errors.append(traceback.format_exc())
                return 500, {"message": f"Grafana API test double failed: {error!r}"}, None

    ROUTES = (
        ("GET", r"/api/folders", "list_folders"),
        ("POST", r"/api/folders", "post_folder"),
        ("GET", r"/api/folders/([^/]+)", "get_folder"),
        ("PUT", r"/api/folders/([^/]+)", "put_folder"),
        ("DELETE", r"/api/folders/([^/]+)", "delete_folder"),
        ("POST", r"/api/folders/([^/]+)/move", "move_folder"),
        ("POST", r"/api/dashboards/db", "post_dashboard"),
        ("POST", r"/api/dashboards/import", "import_dashboard"),
        ("GET", r"/api/dashboards/uid/([^/]+)", "get_dashboard"),
        ("DELETE", r"/api/dashboards/uid/([^/]+)", "delete_dashboard"),
        ("GET", r"/api/search", "search"),
        ("GET", r"/api/datasources", "list_datasources"),
        ("POST", r"/api/datasources", "post_datasource"),
        ("GET", r"/api/datasources/uid/([^/]+)", "get_datasource"),
        ("GET", r"/api/datasources/name/([^/]+)", "get_datasource_by_name"),
        ("PUT", r"/api/datasources/uid/([^/]+)", "put_datasource"),
        ("DELETE", r"/api/datasources/uid/([^/]+)", "delete_datasource"),
    )

    def _route(self, method, path):
        for route_method, pattern, name in self.ROUTES:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                return getattr(self, "_api_" + name), [unquote(group) for group in match.groups()]
        return None

    def _health(self):
        body = {"database": "ok" if self.database_ok else "failing"}
        if not self.hide_version:
            body = {"commit": self.commit, **body, "version": self.version}
        text = json.dumps(body, indent=2)
        return (200 if self.database_ok else 503), text, "application/json; charset=UTF-8"

    def _authenticate(self, headers):
        value = headers.get("authorization", "")
        scheme, _space, credentials = value.partition(" ")
        if scheme.lower() == "bearer" and self.token and credentials == self.token:
            return
        if scheme.lower() == "basic":
            try:
                user, _colon, password = base64.b64decode(credentials).decode().partition(":")
            except ValueError:
                user = password = None
            # Brute-force protection (on by default): 5 failures for a user inside 5 minutes lock it, and a
            # locked user gets the same answer even with the right password.
            recent = [t for t in self._failed_logins.get(user, []) if time.monotonic() - t < 300]
            if len(recent) < 5 and user == self.user and password == self.password:
                return
            self._failed_logins[user] = [*recent, time.monotonic()]
            raise APIError(401, "Invalid username or password")
        raise APIError(401, "Unauthorized")

    @staticmethod
    def _json_object(raw):
        """The request body as Grafana's binding reads it: a JSON object, else 400 bad request data."""
        try:
            body = json.loads(raw or b"")
        except ValueError:
            raise APIError(400, MSG_BAD_REQUEST) from None
        if not isinstance(body, dict):
            raise APIError(400, MSG_BAD_REQUEST)
        return body

    @staticmethod
    def _typed(body, **types):
        """Go's JSON binding refuses a field of the wrong type."""
        for key, kinds in types.items():
            value = body.get(key)
            if value is None:
                continue
            if not isinstance(value, kinds) or (bool not in _tuple(kinds) and isinstance(value, bool)):
                raise APIError(400, MSG_BAD_REQUEST)

    # ----- folders ---------------------------------------------------------------------------------------------

    def _folder_dto(self, folder):
        dto = {
            "id": folder["id"],
            "uid": folder["uid"],
            "orgId": 1,
            "title": folder["title"],
            "url": f"/dashboards/f/{folder['uid']}/{slugify(folder['title'])}",
            "hasAcl": False,
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "canDelete": True,
            "createdBy": self.user,
            "created": folder["created"],
            "updatedBy": self.user,
            "updated": folder["updated"],
            "version": folder["version"],
        }
        if folder["parentUid"]:
            dto["parentUid"] = folder["parentUid"]
            dto["parents"] = [
                {"uid": p["uid"], "title": p["title"], "id": p["id"]} for p in self._ancestors(folder["uid"])
            ]
        return dto

    def _ancestors(self, uid):
        chain = []
        parent = self.folders[uid]["parentUid"]
        while parent:
            chain.insert(0, self.folders[parent])
            parent = self.folders[parent]["parentUid"]
        return chain

    def _folder(self, uid):
        if uid not in self.folders:
            raise APIError(404, MSG_FOLDER_NOT_FOUND, status="not-found")
        return self.folders[uid]

    def _title_taken(self, title, parent_uid, other_than=None):
        return any(
            f["title"].lower() == title.lower() and f["parentUid"] == parent_uid and f["uid"] != other_than
            for f in self.folders.values()
        )

    def _create_folder(self, body):
        self._typed(body, uid=str, title=str, parentUid=str, description=str)
        title = as_str(body.get("title")).strip()
        uid = as_str(body.get("uid")).strip()
        parent = as_str(body.get("parentUid"))
        if not title:
            raise APIError(400, "folder title cannot be empty")
        if title.lower() == "general":
            raise APIError(400, "A folder with that name already exists")
        check_uid(uid)
        if parent:
            self._folder(parent)
        if uid in self.folders:
            if self.folder_uid_conflict_status == 409:
                raise APIError(409, "a folder/dashboard with the same uid already exists")
            raise APIError(412, MSG_FOLDER_CHANGED, status="version-mismatch")
        if self._title_taken(title, parent):
            raise APIError(409, "a folder with the same name already exists in the current location")
        uid = uid or generate_uid()
        self.folders[uid] = {
            "id": next(self._ids),
            "uid": uid,
            "title": title,
            "parentUid": parent,
            "description": as_str(body.get("description")),
            "version": 1,
            "created": stamp(),
            "updated": stamp(),
        }
        return self.folders[uid]

    def _api_list_folders(self, query, _raw):
        parent = query.get("parentUid", [""])[0]
        limit = max(1, as_int(_query_int(query, "limit", 1000)))
        page = max(1, as_int(_query_int(query, "page", 1)))
        children = sorted(
            (f for f in self.folders.values() if f["parentUid"] == parent), key=lambda f: f["title"].lower()
        )
        hits = [
            {"id": f["id"], "uid": f["uid"], "title": f["title"], **({"parentUid": parent} if parent else {})}
            for f in children
        ]
        return hits[(page - 1) * limit : page * limit]

    def _api_post_folder(self, _query, raw):
        return self._folder_dto(self._create_folder(self._json_object(raw)))

    def _api_get_folder(self, _query, _raw, uid):
        return self._folder_dto(self._folder(uid))

    def _api_put_folder(self, _query, raw, uid):
        body = self._json_object(raw)
        self._typed(body, title=str, description=str, version=int, overwrite=bool)
        folder = self._folder(uid)
        if not body.get("overwrite") and as_int(body.get("version")) != folder["version"]:
            raise APIError(412, MSG_FOLDER_CHANGED, status="version-mismatch")
        title = as_str(body.get("title")).strip()
        if not title:
            raise APIError(400, "folder title cannot be empty")
        if self._title_taken(title, folder["parentUid"], other_than=uid):
            raise APIError(409, "a folder with the same name already exists in the current location")
        folder.update(title=title, version=folder["version"] + 1, updated=stamp())
        if "description" in body:
            folder["description"] = as_str(body["description"])
        return self._folder_dto(folder)

    def _api_move_folder(self, _query, raw, uid):
        body = self._json_object(raw)
        self._typed(body, parentUid=str)
        folder = self._folder(uid)
        parent = as_str(body.get("parentUid"))
        if parent:
            self._folder(parent)
            if parent == uid or any(a["uid"] == uid for a in self._ancestors(parent)):
                raise APIError(400, "Circular reference detected")
        if self._title_taken(folder["title"], parent, other_than=uid):
            raise APIError(409, "a folder with the same name already exists in the current location")
        folder.update(parentUid=parent, updated=stamp())
        return self._folder_dto(folder)

    def _api_delete_folder(self, _query, _raw, uid):
        folder = self._folder(uid)
        doomed = [uid]
        for doomed_uid in doomed:  # grows while it is walked: every descendant
            doomed.extend(f["uid"] for f in self.folders.values() if f["parentUid"] == doomed_uid)
        for doomed_uid in doomed:
            del self.folders[doomed_uid]
        for dashboard_uid in [d["uid"] for d in self.dashboards.values() if d["folderUid"] in doomed]:
            del self.dashboards[dashboard_uid]
        return {"message": "Folder deleted", "id": folder["id"], "title": folder["title"]}

    # ----- dashboards ------------------------------------------------------------------------------------------

    def _save_dashboard(self, body, provisioned_check=True):
        """Grafana's save, checks in its order (GRAFANA_FACTS A, steps 1 to 7); the stored record."""
        dashboard = body.get("dashboard")
        dashboard = copy.deepcopy(dashboard) if isinstance(dashboard, dict) else {}
        overwrite = body.get("overwrite") is True
        # 1. title, message
        title = as_str(dashboard.get("title")).strip()
        if not title:
            raise APIError(400, "Dashboard title cannot be empty", status="empty-name")
        if len(title) > 5000:
            raise APIError(400, "Dashboard title cannot contain more than 5 000 characters", status="title-too-long")
        if len(as_str(body.get("message"))) > 500:
            raise APIError(400, "message too long, max 500 characters")
        # 2. uid
        uid = as_str(dashboard.get("uid")).strip()
        check_uid(uid)
        # 3. folder: 400, not 404 (Grafana keeps this "legacy contract")
        folder_uid = as_str(body.get("folderUid"))
        if folder_uid and folder_uid not in self.folders:
            raise APIError(400, MSG_FOLDER_NOT_FOUND)
        # 4. id and uid
        dashboard_id = as_int(dashboard.get("id"))
        existing = None
        if dashboard_id > 0:
            existing = next((d for d in self.dashboards.values() if d["id"] == dashboard_id), None)
            if existing is None:
                raise APIError(404, MSG_DASHBOARD_NOT_FOUND, status="not-found")
            uid = uid or existing["uid"]
            if uid in self.dashboards and self.dashboards[uid]["id"] != dashboard_id:
                raise APIError(400, "A dashboard with the same uid already exists")
        elif uid:
            existing = self.dashboards.get(uid)
        if existing is not None:
            # 5. version, unless overwrite
            if not overwrite and as_int(dashboard.get("version")) != existing["version"]:
                if self.version_conflict_status == 409:
                    raise APIError(409, "Dashboard already exists. Use overwrite flag to update.")
                raise APIError(412, MSG_DASHBOARD_CHANGED, status="version-mismatch")
            # 6. plugin dashboards
            if existing.get("plugin_id") and not overwrite:
                raise APIError(
                    412, f"The dashboard belongs to plugin {existing['plugin_id']}.", status="plugin-dashboard"
                )
        # The <=11.2 rule: titles unique within a folder; overwrite takes the other dashboard over.
        if self.name_exists:
            same = next(
                (
                    d
                    for d in self.dashboards.values()
                    if d["folderUid"] == folder_uid
                    and slugify(d["data"]["title"]) == slugify(title)
                    and (existing is None or d["id"] != existing["id"])
                ),
                None,
            )
            if same is not None:
                if not overwrite:
                    raise APIError(
                        412, "A dashboard with the same name in the folder already exists", status="name-exists"
                    )
                existing, uid = same, same["uid"]
        # 7. provisioned dashboards (providers without allowUiUpdates), even with overwrite
        provisioning = (existing or {}).get("provisioning")
        if provisioned_check and provisioning and not provisioning["allow_ui_updates"]:
            raise APIError(400, "Cannot save provisioned dashboard")
        # Saved: every save bumps the version, even an identical one.
        if existing is None:
            uid = uid or generate_uid()
            record = {"id": next(self._ids), "uid": uid, "version": 1, "created": stamp(), "plugin_id": ""}
        else:
            record = existing
            if record["uid"] != uid:  # taken over by title
                del self.dashboards[record["uid"]]
                record["uid"] = uid
            record["version"] += 1
        dashboard["id"] = record["id"]
        dashboard["uid"] = uid
        dashboard["title"] = title
        dashboard["version"] = record["version"]
        record.update(data=dashboard, folderUid=folder_uid, updated=stamp())
        self.dashboards[uid] = record
        return record

    @staticmethod
    def _dashboard_url(record):
        return f"/d/{record['uid']}/{slugify(record['data']['title'])}"

    def _api_post_dashboard(self, _query, raw):
        body = self._json_object(raw)
        self._typed(body, folderUid=str, overwrite=bool, message=str)
        record = self._save_dashboard(body)
        return {
            "id": record["id"],
            "uid": record["uid"],
            "url": self._dashboard_url(record),
            "status": "success",
            "version": record["version"],
            "slug": slugify(record["data"]["title"]),
        }

    def _dashboard(self, uid):
        if uid not in self.dashboards:
            raise APIError(404, MSG_DASHBOARD_NOT_FOUND)
        return self.dashboards[uid]

    def _api_get_dashboard(self, _query, _raw, uid):
        record = self._dashboard(uid)
        provisioning = record.get("provisioning")
        meta = {
            "type": "db",
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "canDelete": True,
            "canStar": True,
            "slug": slugify(record["data"]["title"]),
            "url": self._dashboard_url(record),
            "created": record["created"],
            "updated": record["updated"],
            "createdBy": self.user,
            "updatedBy": self.user,
            "version": record["version"],
            "hasAcl": False,
            "isFolder": False,
            "folderId": 0,
            "folderTitle": "General",
            "provisioned": bool(provisioning and not provisioning["allow_ui_updates"]),
            "provisionedExternalId": provisioning["external_id"] if provisioning else "",
            "annotationsPermissions": {
                "dashboard": {"canAdd": True, "canEdit": True, "canDelete": True},
                "organization": {"canAdd": True, "canEdit": True, "canDelete": True},
            },
            "publicDashboardEnabled": False,
        }
        if record["folderUid"]:
            folder = self.folders[record["folderUid"]]
            meta.update(
                folderId=folder["id"],
                folderUid=folder["uid"],
                folderTitle=folder["title"],
                folderUrl=f"/dashboards/f/{folder['uid']}/{slugify(folder['title'])}",
            )
        return {"dashboard": copy.deepcopy(record["data"]), "meta": meta}

    def _api_delete_dashboard(self, _query, _raw, uid):
        record = self._dashboard(uid)
        if record.get("provisioning"):
            raise APIError(400, "provisioned dashboard cannot be deleted")
        del self.dashboards[uid]
        title = record["data"]["title"]
        return {"title": title, "message": f"Dashboard {title} deleted", "uid": uid}

    def _api_import_dashboard(self, _query, raw):
        body = self._json_object(raw)
        self._typed(body, folderUid=str, overwrite=bool, pluginId=str, inputs=list)
        if not body.get("pluginId") and body.get("dashboard") is None:
            raise APIError(422, "Dashboard must be set")
        if body.get("pluginId"):  # plugin dashboards are not modelled: Grafana's fallback answer
            raise APIError(500, "Failed to save dashboard")
        template = body["dashboard"] if isinstance(body["dashboard"], dict) else {}
        inputs = [i for i in body.get("inputs") or [] if isinstance(i, dict)]
        variables = {}
        declared = template.get("__inputs") if isinstance(template.get("__inputs"), list) else []
        for definition in (d if isinstance(d, dict) else {} for d in declared):
            name, kind = as_str(definition.get("name")), as_str(definition.get("type"))
            match = next(
                (i for i in inputs if as_str(i.get("type")) == kind and as_str(i.get("name")) in (name, "*")), None
            )
            if definition.get("pluginId") == "__expr__":
                match = {"value": "__expr__"}
            if match is None:
                # "Dashboard input variable: <name> missing from import command" has no 4xx mapping.
                raise APIError(500, "Failed to save dashboard")
            variables[f"${{{name}}}"] = as_str(match.get("value"))
        dashboard = _evaluate(template, variables)
        for key in ("__elements", "__inputs", "__requires"):
            dashboard.pop(key, None)
        folder_uid = as_str(body.get("folderUid"))
        record = self._save_dashboard(
            {"dashboard": dashboard, "folderUid": folder_uid, "overwrite": body.get("overwrite") is True},
            provisioned_check=False,
        )
        slug = slugify(record["data"]["title"])
        revision = as_int(record["data"].get("revision"))
        return {
            "uid": record["uid"],
            "pluginId": "",
            "title": record["data"]["title"],
            "imported": True,
            "importedUri": f"db/{slug}",
            "importedUrl": self._dashboard_url(record),
            "slug": slug,
            "dashboardId": record["id"],
            "folderId": self.folders[folder_uid]["id"] if folder_uid else 0,
            "folderUid": folder_uid,
            "importedRevision": revision,
            "revision": revision,
            "path": "",
        }

    def _api_search(self, query, _raw):
        kind = query.get("type", [""])[0]
        text = query.get("query", [""])[0].lower()
        tags = query.get("tag", [])
        uids = {u for value in query.get("dashboardUIDs", []) for u in value.split(",") if u}
        folder_uids = {u for value in query.get("folderUIDs", []) for u in value.split(",") if u}
        limit = min(5000, max(1, _query_int(query, "limit", 1000)))
        page = max(1, _query_int(query, "page", 1))
        hits = []
        if kind in ("", "dash-folder") and not tags and query.get("starred", ["false"])[0] != "true":
            for folder in self.folders.values():
                if (uids and folder["uid"] not in uids) or (
                    folder_uids and (folder["parentUid"] or "general") not in folder_uids
                ):
                    continue
                hits.append(
                    {
                        "id": folder["id"],
                        "uid": folder["uid"],
                        "title": folder["title"],
                        "uri": f"db/{slugify(folder['title'])}",
                        "url": f"/dashboards/f/{folder['uid']}/{slugify(folder['title'])}",
                        "slug": "",
                        "type": "dash-folder",
                        "tags": [],
                        "isStarred": False,
                        "sortMeta": 0,
                    }
                )
        if kind in ("", "dash-db") and query.get("starred", ["false"])[0] != "true":
            for record in self.dashboards.values():
                data = record["data"]
                record_tags = data.get("tags") if isinstance(data.get("tags"), list) else []
                if (uids and record["uid"] not in uids) or (
                    folder_uids and (record["folderUid"] or "general") not in folder_uids
                ):
                    continue
                if any(tag not in record_tags for tag in tags):
                    continue
                hit = {
                    "id": record["id"],
                    "uid": record["uid"],
                    "title": data["title"],
                    "uri": f"db/{slugify(data['title'])}",
                    "url": self._dashboard_url(record),
                    "slug": "",
                    "type": "dash-db",
                    "tags": record_tags,
                    "isStarred": False,
                    "sortMeta": 0,
                }
                if record["folderUid"]:
                    folder = self.folders[record["folderUid"]]
                    hit.update(
                        folderId=folder["id"],
                        folderUid=folder["uid"],
                        folderTitle=folder["title"],
                        folderUrl=f"/dashboards/f/{folder['uid']}/{slugify(folder['title'])}",
                    )
                hits.append(hit)
        hits = [hit for hit in hits if text in hit["title"].lower()]
        hits.sort(key=lambda hit: hit["title"].lower())
        return hits[(page - 1) * limit : page * limit]

    # ----- datasources -----------------------------------------------------------------------------------------

    DATASOURCE_TYPES: ClassVar[dict] = dict(
        uid=str, name=str, type=str, access=str, url=str, user=str, database=str, basicAuth=bool,
        basicAuthUser=str, withCredentials=bool, isDefault=bool, jsonData=dict, secureJsonData=dict,
        version=int, readOnly=bool, apiVersion=str,
    )  # fmt: skip

    def _datasource_dto(self, record):
        dto = {key: copy.deepcopy(value) for key, value in record.items() if key != "secureJsonData"}
        dto["typeLogoUrl"] = "public/img/icn-datasource.svg"
        dto["secureJsonFields"] = {key: True for key, value in record["secureJsonData"].items() if value}
        return dto

    def _datasource(self, uid):
        if uid not in self.datasources:
            raise APIError(404, MSG_DS_NOT_FOUND)
        return self.datasources[uid]

    def _check_secure(self, body):
        secure = body.get("secureJsonData") or {}
        if any(not isinstance(value, str) for value in secure.values()):
            raise APIError(400, MSG_BAD_REQUEST)
        return dict(secure)

    def _clear_other_defaults(self, record):
        if record["isDefault"]:
            for other in self.datasources.values():
                if other is not record:
                    other["isDefault"] = False

    def _create_datasource(self, body):
        self._typed(body, **self.DATASOURCE_TYPES)
        secure = self._check_secure(body)
        name = as_str(body.get("name"))
        if any(d["name"] == name for d in self.datasources.values()):
            raise APIError(409, MSG_DS_NAME_EXISTS)
        uid = as_str(body.get("uid"))
        if uid and self.fail_wrong_ds_uid:
            check_uid(uid)
        if uid in self.datasources:
            raise APIError(409, MSG_DS_UID_EXISTS)
        uid = uid or generate_uid()
        record = {
            "id": next(self._datasource_ids),
            "uid": uid,
            "orgId": 1,
            "name": name,
            "type": as_str(body.get("type")),
            "access": as_str(body.get("access")),
            "url": as_str(body.get("url")),
            "user": as_str(body.get("user")),
            "database": as_str(body.get("database")),
            "basicAuth": body.get("basicAuth") is True,
            "basicAuthUser": as_str(body.get("basicAuthUser")),
            "withCredentials": body.get("withCredentials") is True,
            "isDefault": body.get("isDefault") is True,
            "jsonData": copy.deepcopy(body.get("jsonData") or {}),
            "secureJsonData": secure,
            "version": 1,
            "readOnly": False,
            "apiVersion": as_str(body.get("apiVersion")),
        }
        self.datasources[uid] = record
        self._clear_other_defaults(record)
        return record

    def _api_list_datasources(self, _query, _raw):
        return sorted((self._datasource_dto(d) for d in self.datasources.values()), key=lambda d: d["name"].lower())

    def _api_post_datasource(self, _query, raw):
        record = self._create_datasource(self._json_object(raw))
        return {
            "datasource": self._datasource_dto(record),
            "id": record["id"],
            "message": "Datasource added",
            "name": record["name"],
        }

    def _api_get_datasource(self, _query, _raw, uid):
        return self._datasource_dto(self._datasource(uid))

    def _api_get_datasource_by_name(self, _query, _raw, name):
        record = next((d for d in self.datasources.values() if d["name"] == name), None)
        if record is None:
            raise APIError(404, MSG_DS_NOT_FOUND)
        return self._datasource_dto(record)

    def _api_put_datasource(self, _query, raw, uid):
        """A whole-record replace, as Grafana's SQL store does it (empty strings of some fields are not written)."""
        body = self._json_object(raw)
        self._typed(body, **self.DATASOURCE_TYPES)
        secure = self._check_secure(body)
        record = self._datasource(uid)
        if record["readOnly"]:
            raise APIError(403, "Cannot update read-only data source")
        name = as_str(body.get("name")) or record["name"]
        if any(d["name"] == name and d is not record for d in self.datasources.values()):
            raise APIError(409, "Failed to update datasource: " + MSG_DS_NAME_EXISTS)
        version = as_int(body.get("version"))
        if version != 0 and version < record["version"]:
            raise APIError(409, "Datasource has already been updated by someone else. Please reload and try again")
        for key in ("name", "type", "access", "url", "basicAuthUser"):  # xorm skips empty strings
            record[key] = as_str(body.get(key)) or record[key]
        for key in ("user", "database", "apiVersion"):  # always written
            record[key] = as_str(body.get(key))
        for key in ("basicAuth", "withCredentials", "isDefault", "readOnly"):
            record[key] = body.get(key) is True
        record["jsonData"] = copy.deepcopy(body.get("jsonData") or {})
        record["secureJsonData"] = {**record["secureJsonData"], **secure}  # omitted secrets are kept
        record["version"] = version + 1
        self._clear_other_defaults(record)
        return {
            "datasource": self._datasource_dto(record),
            "id": record["id"],
            "message": "Datasource updated",
            "name": record["name"],
        }

    def _api_delete_datasource(self, _query, _raw, uid):
        record = self._datasource(uid)
        if record["readOnly"]:
            raise APIError(403, "Cannot delete read-only data source")
        del self.datasources[uid]
        return {"message": "Data source deleted", "id": record["id"]}


def _tuple(kinds):
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _query_int(query, key, default):
    try:
        return int(query.get(key, [default])[0])
    except ValueError:
        return default


def _evaluate(value, variables):
    """Grafana's import evaluator: ${NAME} of declared inputs in string values; __inputs dropped at every level."""
    if isinstance(value, str):
        return TEMPLATE_VARIABLE.sub(lambda m: variables.get(m.group(0), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _evaluate(v, variables) for k, v in value.items() if k != "__inputs"}
    if isinstance(value, list):
        return [_evaluate(v, variables) for v in value]
    return value


class _Handler(BaseHTTPRequestHandler):
    double: GrafanaAPIDouble
    server_version = "Grafana-API-test-double"

    def log_message(self, format, *args):
        pass

    def _serve(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {key.lower(): value for key, value in self.headers.items()}
        query = parse_qs(parts.query)
        with self.double.lock:
            self.double.requests.append(
                {"method": self.command, "path": parts.path, "query": query, "headers": headers, "body": body,
                 "time": now()}
            )  # fmt: skip
        status, answer, content_type = self.double.handle(self.command, parts.path, query, headers, raw)
        data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _serve
