#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, update or delete a Grafana dashboard, keyed by its uid, deciding changed client-side."""

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_dashboard
short_description: Create, update or delete a Grafana dashboard, keyed by its uid
description:
  - Manages one dashboard, found by its uid, from a JSON file (O(path)) or a dict (O(dashboard)), in a folder
    given by uid (O(folder_uid), nested folders included) or at the root.
  - Grafana bumps a dashboard's version on every save, even an identical one, so the module decides itself
    whether anything differs. It compares the dashboard JSON and its folder with what Grafana holds, after
    normalising both (without C(id), C(version), panel ids and the library panel details Grafana fills in), and
    saves only on a real difference, then with C(overwrite). A second run changes nothing and sends no write.
  - Dashboards exported for sharing declare C(__inputs) (for example C(${DS_PROMETHEUS})); give their values in
    O(inputs). They are substituted client-side exactly as Grafana's import does, so a missing one fails before
    any request.
  - Refused before any request - a dashboard that is not a JSON object, without a title, or with a uid
    Grafana would refuse. A folder that does not exist fails before any write.
  - A provisioned dashboard (from files, without C(allowUiUpdates)) cannot be changed or deleted through the
    API; the module fails, naming it, when a change would be needed.
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
extends_documentation_fragment:
  - mlops.stack.grafana
  - ansible.builtin.action_common_attributes
options:
  uid:
    description:
      - Uid of the dashboard (letters, digits, C(-) and C(_), at most 40 characters).
      - Taken from the dashboard JSON when not given; one of the two is required, because Grafana makes up a new
        uid for a dashboard without one and the task could never be idempotent. When both are given they must agree.
    type: str
  dashboard:
    description: The dashboard JSON, as a dict or a JSON string (the dashboard model itself, not the API's wrapper).
    type: raw
  path:
    description: A dashboard JSON file on the host the task runs on.
    type: path
  inputs:
    description:
      - Values of the dashboard's C(__inputs), by name, for example C(DS_PROMETHEUS=prometheus) (a datasource uid).
      - Each declared input needs one, except server-side expressions (C(__expr__)).
    type: dict
    default: {}
  folder_uid:
    description:
      - Uid of the folder to keep the dashboard in. Leave it out for the root (General); a dashboard found in
        another folder is moved.
      - The folder must exist. In check mode a missing folder is only a warning (an earlier task may create it).
    type: str
  version_message:
    description: Note saved with each new version (C(message) in Grafana's version history), at most 500 characters.
    type: str
  state:
    description: C(present) creates or updates the dashboard; C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    details: Reads only; reports what would be created, changed, moved or deleted.
  diff_mode:
    support: full
    details: Shows the normalised dashboard JSON and its folder before and after.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    support: full
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: The Nomad dashboard, exported for sharing, in the platform folder
  mlops.stack.grafana_dashboard:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    path: dashboards/nomad.json
    uid: nomad-cluster
    folder_uid: platform-nomad
    inputs:
      DS_PROMETHEUS: prometheus

- name: A small dashboard written inline, at the root
  mlops.stack.grafana_dashboard:
    url: https://grafana.example.com
    url_username: admin
    url_password: "{{ grafana_admin_password }}"
    dashboard:
      uid: training-jobs
      title: Training jobs
      panels:
        - type: timeseries
          title: Pushed runs
          gridPos: {h: 8, w: 12, x: 0, y: 0}
          targets:
            - expr: sum(rate(training_runs_total[5m]))
    version_message: Managed by Ansible

- name: Remove a dashboard
  mlops.stack.grafana_dashboard:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    uid: training-jobs
    state: absent
"""

RETURN = r"""
uid:
  description: Uid of the dashboard.
  returned: always
  type: str
  sample: nomad-cluster
id:
  description: Grafana's numeric id of the dashboard.
  returned: when the dashboard exists after the run, outside check mode
  type: int
  sample: 12
url:
  description: Path of the dashboard in Grafana's UI.
  returned: when the dashboard exists after the run, outside check mode
  type: str
  sample: /d/nomad-cluster/nomad-cluster
version:
  description: Grafana's version of the dashboard (it grows by one on every save).
  returned: when the dashboard exists after the run, outside check mode
  type: int
  sample: 3
folder_uid:
  description: Uid of the folder the dashboard is in; null at the root.
  returned: state=present
  type: str
  sample: platform-nomad
provisioned:
  description: Whether Grafana reports the dashboard as provisioned from files (read-only through the API).
  returned: when the dashboard existed
  type: bool
  sample: false
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlops.stack.plugins.module_utils.dashboard_json import (
    MESSAGE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    dashboard_comparison,
    declared_inputs,
    normalize_dashboard,
    resolve_dashboard_inputs,
    validate_uid,
)
from ansible_collections.mlops.stack.plugins.module_utils.grafana import (
    GrafanaAPIError,
    grafana_argument_spec,
    run_manager,
)


def load_dashboard(params):
    """(source label, the dashboard JSON) from path or dashboard; (None, None) when neither is given."""
    if params["path"] is not None:
        label = "path"
        try:
            with open(params["path"], encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise ValueError("path: cannot read %s: %s" % (params["path"], error.strerror)) from None
        try:
            dashboard = json.loads(text)
        except ValueError as error:
            raise ValueError("path: %s is not valid JSON: %s" % (params["path"], error)) from None
    elif params["dashboard"] is not None:
        label = "dashboard"
        dashboard = params["dashboard"]
        if isinstance(dashboard, str):
            try:
                dashboard = json.loads(dashboard)
            except ValueError as error:
                raise ValueError("dashboard: not valid JSON: %s" % error) from None
    else:
        return None, None
    if not isinstance(dashboard, dict):
        raise ValueError("%s: the dashboard is not a JSON object (got %s)" % (label, type(dashboard).__name__))
    return label, dashboard


def prepare_dashboard(params, label, dashboard):
    """The dashboard to save: inputs substituted, checked as Grafana checks it, without id, with its uid."""
    try:
        dashboard = resolve_dashboard_inputs(dashboard, params["inputs"])
    except ValueError as error:
        raise ValueError("%s: %s" % (label, error)) from None
    dashboard.pop("id", None)  # Grafana looks dashboards up by id first (grafana#42330)
    dashboard.pop("version", None)  # the module decides; the save sends overwrite
    title = dashboard.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("%s: the dashboard has no title (Grafana refuses one without)" % label)
    if len(title.strip()) > TITLE_MAX_LENGTH:
        raise ValueError("%s: the title is longer than Grafana's %d characters" % (label, TITLE_MAX_LENGTH))
    uid = params["uid"]
    json_uid = dashboard.get("uid")
    if json_uid is not None:
        validate_uid(json_uid, "%s: uid" % label)
    if uid and json_uid and uid != json_uid:
        raise ValueError("uid: %s does not match the uid in the dashboard JSON, %s" % (uid, json_uid))
    uid = uid or json_uid
    if not uid:
        raise ValueError(
            "uid: required: give the uid option or a uid in the dashboard JSON (without one Grafana makes up a "
            "new uid on every save, so the task could never be idempotent)"
        )
    dashboard["uid"] = uid
    return dashboard


class DashboardManager:
    """Reads the dashboard, compares after normalisation, and writes only outside check mode."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params

    def check_folder(self, folder_uid):
        if not folder_uid or self.client.get_folder(folder_uid) is not None:
            return
        if self.module.check_mode:
            self.module.warn("folder_uid: no folder %s in Grafana yet; an earlier task may create it" % folder_uid)
            return
        raise ValueError("folder_uid: Grafana has no folder with uid %s" % folder_uid)

    @staticmethod
    def describe(result, current):
        meta = current.get("meta") or {}
        result.update(
            id=current["dashboard"].get("id"),
            url=meta.get("url"),
            version=meta.get("version"),
            folder_uid=meta.get("folderUid") or None,
            provisioned=bool(meta.get("provisioned")),
        )
        return result

    def save(self, result, dashboard, folder_uid, overwrite):
        saved = self.client.save_dashboard(dashboard, folder_uid, overwrite, self.params["version_message"])
        result.update(id=saved.get("id"), url=saved.get("url"), version=saved.get("version"), folder_uid=folder_uid)
        return result

    def present(self, dashboard):
        uid = dashboard["uid"]
        folder_uid = self.params["folder_uid"] or None
        self.check_folder(folder_uid)
        current = self.client.get_dashboard(uid)
        result = {"changed": False, "uid": uid, "folder_uid": folder_uid}
        if current is None:
            created = {"changed": True, "uid": uid, "folder_uid": folder_uid}
            after = {"folder_uid": folder_uid, "dashboard": normalize_dashboard(dashboard)}
            created["diff"] = {"before": {}, "after": after}
            if self.module.check_mode:
                return created
            try:
                return self.save(created, dashboard, folder_uid, overwrite=False)
            except GrafanaAPIError as error:
                # 412 or 409: created meanwhile (or, before Grafana 11.3, a dashboard with this title in the
                # folder). Read it back by uid and compare; fail when another dashboard holds the title.
                if error.status not in (409, 412):
                    raise
                current = self.client.get_dashboard(uid)
                if current is None:
                    raise error.explained("Grafana has no dashboard with uid %s" % uid) from None
        self.describe(result, current)
        stored, desired = dashboard_comparison(dashboard, current["dashboard"])
        before = {"folder_uid": result["folder_uid"], "dashboard": stored}
        after = {"folder_uid": folder_uid, "dashboard": desired}
        if before == after:
            return result
        result["changed"] = True
        result["diff"] = {"before": before, "after": after}
        if result["provisioned"]:
            self.module.fail_json(
                msg="dashboard %s is provisioned (%s), cannot be changed through the API; change its file"
                % (uid, (current.get("meta") or {}).get("provisionedExternalId") or "from a file"),
                **result,
            )
        if self.module.check_mode:
            return result
        # Our own comparison found a real difference: overwrite whatever version Grafana holds.
        return self.save(result, dashboard, folder_uid, overwrite=True)

    def absent(self, uid):
        current = self.client.get_dashboard(uid)
        result = {"changed": current is not None, "uid": uid}
        if current is None:
            return result
        self.describe(result, current)
        meta = current.get("meta") or {}
        result["diff"] = {
            "before": {"folder_uid": result["folder_uid"], "title": current["dashboard"].get("title")},
            "after": {},
        }
        # Grafana refuses to delete any provisioned dashboard, even one that allows UI updates.
        if meta.get("provisioned") or meta.get("provisionedExternalId"):
            self.module.fail_json(
                msg="dashboard %s is provisioned (%s), cannot be deleted through the API; remove its file"
                % (uid, meta.get("provisionedExternalId") or "from a file"),
                **result,
            )
        if not self.module.check_mode:
            self.client.delete_dashboard(uid)
            for key in ("id", "url", "version"):
                result.pop(key, None)
        return result

    def run(self):
        params = self.params
        validate_uid(params["uid"], "uid")
        validate_uid(params["folder_uid"], "folder_uid")
        if params["version_message"] is not None and len(params["version_message"]) > MESSAGE_MAX_LENGTH:
            raise ValueError("version_message: longer than Grafana's %d characters" % MESSAGE_MAX_LENGTH)
        label, dashboard = load_dashboard(params)
        if params["inputs"] and dashboard is not None and not declared_inputs(dashboard):
            self.module.warn("inputs: the dashboard declares no __inputs, so inputs are not used")
        if params["state"] == "absent":
            uid = params["uid"] or (dashboard or {}).get("uid")
            if not uid:
                raise ValueError("uid: required with state=absent (or a dashboard with a uid)")
            validate_uid(uid, "uid")
            return self.absent(uid)
        return self.present(prepare_dashboard(params, label, dashboard))


def main():
    argument_spec = grafana_argument_spec()
    argument_spec.update(
        uid=dict(type="str"),
        dashboard=dict(type="raw"),
        path=dict(type="path"),
        inputs=dict(type="dict", default={}),
        folder_uid=dict(type="str"),
        version_message=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("dashboard", "path")],
        required_if=[("state", "present", ("dashboard", "path"), True)],
        supports_check_mode=True,
    )
    run_manager(module, DashboardManager)


if __name__ == "__main__":
    main()
