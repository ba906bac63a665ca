# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""grafana_dashboard_files: the dashboard files a provisioning folder should hold."""

from __future__ import annotations

DOCUMENTATION = r"""
name: grafana_dashboard_files
short_description: Read, check and resolve dashboards for Grafana's file provisioning
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Takes a list of dashboard specifications, each with C(file) (a JSON file on the controller) or C(dashboard)
    (a dict), an optional C(folder_uid) and optional C(inputs), and returns the files to write.
  - Each dashboard must be a JSON object with a title and a uid (letters, digits, C(_) and C(-), at most
    40 characters). File provisioning keys dashboards by uid; one without a uid would get a new one at every
    start of Grafana.
  - C(${NAME}) references to the dashboard's C(__inputs) are resolved the way Grafana's import API does it
    (file provisioning does not resolve them), and C(__inputs), C(__requires) and C(__elements) are removed.
  - Fails naming the entry and the field when a dashboard is not valid, an input has no value, a folder is
    unknown or two dashboards share a uid.
positional: folders, inputs, base
options:
  _input:
    description: The dashboard specifications.
    type: list
    elements: dict
    required: true
  folders:
    description: The uids of the provisioned folders; the first is the default C(folder_uid).
    type: list
    elements: str
    required: true
  inputs:
    description: Input values every dashboard gets (for example C(DS_PROMETHEUS)); an entry's own C(inputs) win.
    type: dict
    default: {}
  base:
    description: Folder that relative C(file) paths are read from.
    type: path
    default: "."
"""

EXAMPLES = r"""
- name: Write the dashboards
  ansible.builtin.copy:
    content: "{{ item.dashboard | to_nice_json(indent=2) }}"
    dest: "/etc/grafana/dashboards/{{ item.folder }}/{{ item.uid }}.json"
    mode: "0640"
  loop: >-
    {{ [{'file': 'dashboards/ml.json'}]
       | mlops.stack.grafana_dashboard_files(['mlops-stack'], {'DS_PROMETHEUS': 'prometheus'}, playbook_dir) }}
"""

RETURN = r"""
_value:
  description: One entry per dashboard, in the given order.
  type: list
  elements: dict
  contains:
    folder:
      description: Uid of the folder the dashboard goes to.
      type: str
    uid:
      description: The dashboard's uid.
      type: str
    dashboard:
      description: The dashboard, inputs resolved, C(id) removed.
      type: dict
"""

import json
import os

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.mlops.stack.plugins.module_utils.dashboard_json import (
    GrafanaInputError,
    resolve_dashboard_inputs,
    uid_problem,
)


def _load(index, spec, base):
    where = "dashboard %d" % index
    if not isinstance(spec, dict):
        raise AnsibleFilterError("%s: must be a dict with `file` or `dashboard`, got %r" % (where, spec))
    if ("file" in spec) == ("dashboard" in spec):
        raise AnsibleFilterError("%s: give exactly one of `file` and `dashboard`" % where)
    if "dashboard" in spec:
        return "%s (dashboard)" % where, spec["dashboard"]
    path = os.path.join(base, to_text(spec["file"]))
    where = "%s (%s)" % (where, spec["file"])
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise AnsibleFilterError("%s: cannot be read: %s" % (where, exc)) from exc
    try:
        return where, json.loads(text)
    except ValueError as exc:
        raise AnsibleFilterError("%s: not valid JSON: %s" % (where, exc)) from exc


def grafana_dashboard_files(specs, folders, inputs=None, base="."):
    if not isinstance(specs, list):
        raise AnsibleFilterError("grafana_dashboard_files: expects a list of dashboards, got %r" % type(specs).__name__)
    if not folders:
        raise AnsibleFilterError("grafana_dashboard_files: no folders to put the dashboards in")
    result, seen = [], {}
    for index, spec in enumerate(specs):
        where, dashboard = _load(index, spec, base)
        if not isinstance(dashboard, dict):
            raise AnsibleFilterError("%s: must be a JSON object, got %s" % (where, type(dashboard).__name__))
        title = dashboard.get("title")
        if not isinstance(title, str) or not title.strip():
            raise AnsibleFilterError("%s: `title` is missing or empty" % where)
        uid = dashboard.get("uid")
        if not isinstance(uid, str) or not uid:
            raise AnsibleFilterError(
                "%s (%s): `uid` is missing; provisioned dashboards need a fixed uid" % (where, title)
            )
        problem = uid_problem(uid)
        if problem:
            raise AnsibleFilterError("%s (%s): `uid` %s" % (where, title, problem))
        if uid in seen:
            raise AnsibleFilterError("%s (%s): uid %s is also the uid of %s" % (where, title, uid, seen[uid]))
        seen[uid] = where
        folder = spec.get("folder_uid") or folders[0]
        if folder not in folders:
            raise AnsibleFilterError(
                "%s (%s): folder_uid %s is not one of the provisioned folders %s"
                % (where, title, folder, ", ".join(folders))
            )
        values = dict(inputs or {})
        values.update(spec.get("inputs") or {})
        try:
            resolved = resolve_dashboard_inputs(dashboard, values)
        except GrafanaInputError as exc:
            raise AnsibleFilterError("%s (%s): %s" % (where, title, exc)) from exc
        resolved.pop("id", None)
        resolved["title"] = title.strip()
        result.append({"folder": folder, "uid": uid, "dashboard": resolved})
    return result


class FilterModule:
    def filters(self):
        return {"grafana_dashboard_files": grafana_dashboard_files}
