# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grafana's rules for dashboard JSON (uids, normalisation, ``__inputs`` substitution), without any HTTP.

Shared by the Grafana modules and the filters that read dashboards on the controller; both import it directly.
It imports only the standard library: Ansible loads every filter file of the collection in each task's worker that
uses one of its filters, so this must stay light.
"""

from __future__ import annotations

import copy
import re

# Grafana's uid rules (pkg/util/shortid_generator.go), for folders, dashboards and datasources.
UID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]*$")
UID_MAX_LENGTH = 40
# Limits of the dashboard save API (pkg/services/dashboards).
TITLE_MAX_LENGTH = 5000
MESSAGE_MAX_LENGTH = 500
# Grafana's import evaluator (dashboardimport/utils/dash_template_evaluator.go).
TEMPLATE_VARIABLE = re.compile(r"\$\{.+?\}")
EXPRESSION_PLUGIN = "__expr__"
IMPORT_ONLY_KEYS = ("__inputs", "__requires", "__elements")


def uid_problem(uid):
    """What breaks Grafana's uid rules (charset first, then length, as Grafana checks), or None."""
    if not isinstance(uid, str):
        return "must be a string, not %s" % type(uid).__name__
    if not UID_PATTERN.match(uid):
        return "%r contains characters Grafana does not allow in a uid (only letters, digits, '-' and '_')" % uid
    if len(uid) > UID_MAX_LENGTH:
        return "%r is %d characters long; Grafana allows at most %d" % (uid, len(uid), UID_MAX_LENGTH)
    return None


def validate_uid(uid, field="uid"):
    """Grafana's uid rules, checked before any request; the ValueError names the field."""
    problem = None if uid is None else uid_problem(uid)
    if problem:
        raise ValueError("%s: %s" % (field, problem))


def _panel_for_comparison(panel):
    if not isinstance(panel, dict):
        return panel
    panel = dict(panel)
    panel.pop("id", None)
    library = panel.get("libraryPanel")
    if isinstance(library, dict):
        panel["libraryPanel"] = {key: library[key] for key in ("name", "uid") if key in library}
    if isinstance(panel.get("panels"), list):  # a collapsed row holds its panels
        panel["panels"] = [_panel_for_comparison(child) for child in panel["panels"]]
    return panel


def normalize_dashboard(dashboard, keep_uid=True):
    """The dashboard JSON as it compares: without what Grafana sets itself.

    Drops ``id`` and ``version`` (Grafana sets them on every save), ``uid``
    unless keep_uid (the desired JSON names one), every panel's ``id`` (also
    inside collapsed rows) and the ``libraryPanel`` keys other than name and
    uid, and trims the title as Grafana does when it stores it.
    """
    result = copy.deepcopy(dict(dashboard))
    result.pop("id", None)
    result.pop("version", None)
    if not keep_uid:
        result.pop("uid", None)
    if isinstance(result.get("title"), str):
        result["title"] = result["title"].strip()
    if isinstance(result.get("panels"), list):
        result["panels"] = [_panel_for_comparison(panel) for panel in result["panels"]]
    return result


def dashboard_comparison(desired, current):
    """(current, desired) normalised alike: equal when Grafana holds what is desired."""
    keep_uid = bool(desired.get("uid"))
    return normalize_dashboard(current, keep_uid), normalize_dashboard(desired, keep_uid)


class GrafanaInputError(ValueError):
    """A dashboard's ``__inputs`` cannot be resolved (a missing or unusable value)."""


def _substitute(value, variables):
    if isinstance(value, str):
        return TEMPLATE_VARIABLE.sub(lambda match: variables.get(match.group(0), match.group(0)), value)
    if isinstance(value, dict):
        return {key: _substitute(item, variables) for key, item in value.items() if key != "__inputs"}
    if isinstance(value, list):
        return [_substitute(item, variables) for item in value]
    return value


def resolve_dashboard_inputs(dashboard, inputs=None):
    """Grafana's import substitution of a dashboard's ``__inputs``, done client-side.

    Every ``__inputs[]`` entry needs a value in inputs (name -> value), except
    server-side expressions (pluginId ``__expr__``), which always become
    ``__expr__``. Then every ``${NAME}`` of a declared input inside a string
    value is replaced (regex ``\\$\\{.+?\\}``; other ``${...}`` stay), and
    ``__inputs``, ``__requires`` and ``__elements`` are removed. Keys are never
    substituted. Raises GrafanaInputError (a ValueError) naming the first
    missing input.
    """
    if not isinstance(dashboard, dict):
        raise GrafanaInputError("the dashboard is not a JSON object (got %s)" % type(dashboard).__name__)
    inputs = inputs or {}
    if not isinstance(inputs, dict):
        raise GrafanaInputError("inputs: must be a mapping of input name to value, not %s" % type(inputs).__name__)
    variables = {}
    declared = dashboard.get("__inputs")
    for definition in declared if isinstance(declared, list) else []:
        if not isinstance(definition, dict):
            continue
        name = definition.get("name")
        name = name if isinstance(name, str) else ""
        if definition.get("pluginId") == EXPRESSION_PLUGIN:
            value = EXPRESSION_PLUGIN
        elif name in inputs and inputs[name] is not None:
            value = inputs[name]
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise GrafanaInputError(
                    "inputs: the value of %s must be a string, not %s" % (name, type(value).__name__)
                )
            value = str(value)
        else:
            raise GrafanaInputError("Dashboard input variable: %s missing from inputs" % name)
        variables["${%s}" % name] = value
    resolved = _substitute(dashboard, variables)
    for key in IMPORT_ONLY_KEYS:
        resolved.pop(key, None)
    return resolved


def declared_inputs(dashboard):
    """Names of the dashboard's ``__inputs``."""
    declared = dashboard.get("__inputs") if isinstance(dashboard, dict) else None
    return [d.get("name") for d in declared if isinstance(d, dict)] if isinstance(declared, list) else []
