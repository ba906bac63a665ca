"""The dashboards the collection ships: Grafana export format, fixed uids, one Prometheus datasource input."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "roles/grafana/files/dashboards").glob("*.json"))
# Grafana's rules for dashboard uids (pkg/util/shortid_generator.go).
UID = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
# What Grafana's import replaces: every ${NAME} in a string (dash_template_evaluator.go).
INPUT_REF = re.compile(r"\$\{(.+?)\}")
# The datasource uid the grafana role gives Prometheus and substitutes for ${DS_PROMETHEUS}.
FIXED_UID = "prometheus"
# Panels that hold no query.
NO_QUERY = {"row", "text", "news", "dashlist"}
# Grafana's own variables, usable in any query.
BUILTIN_VARIABLES = {"__interval", "__interval_ms", "__rate_interval", "__range", "__range_s", "__range_ms"}
VARIABLE_REF = re.compile(r"\$(?:\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\])")


def load(path):
    return json.loads(path.read_text())


def panels(dashboard):
    """Every panel, with the ones inside rows (collapsed rows keep theirs in `panels`)."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def datasources(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "datasource":
                yield item
            else:
                yield from datasources(item)
    elif isinstance(value, list):
        for item in value:
            yield from datasources(item)


def inputs(dashboard):
    return {entry["name"]: entry for entry in dashboard.get("__inputs", [])}


def test_the_four_dashboards_are_shipped():
    assert [path.name for path in DASHBOARDS] == ["consul.json", "ml-training.json", "monitoring.json", "nomad.json"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_valid_json_with_a_title_and_a_fixed_uid(path):
    dashboard = load(path)
    assert isinstance(dashboard, dict), path
    assert isinstance(dashboard.get("title"), str) and dashboard["title"].strip(), "no title"
    assert isinstance(dashboard.get("uid"), str) and UID.match(dashboard["uid"]), f"bad uid {dashboard.get('uid')!r}"
    # Exported for import: no database id.
    assert dashboard.get("id") is None
    assert isinstance(dashboard.get("schemaVersion"), int), "no schemaVersion"
    # The dashboards link to each other by this tag.
    assert "mlops-stack" in dashboard.get("tags", []), dashboard.get("tags")


def test_uids_and_titles_are_unique():
    uids = [load(path)["uid"] for path in DASHBOARDS]
    titles = [load(path)["title"] for path in DASHBOARDS]
    assert len(set(uids)) == len(uids), uids
    assert len(set(titles)) == len(titles), titles


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_every_panel_has_a_query_and_a_unique_id(path):
    dashboard = load(path)
    ids = []
    for panel in panels(dashboard):
        title = panel.get("title", "")
        assert isinstance(panel.get("id"), int), f"panel {title!r} has no id"
        ids.append(panel["id"])
        grid = panel.get("gridPos", {})
        assert {"h", "w", "x", "y"} <= set(grid), f"panel {title!r} has no gridPos"
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, f"panel {title!r}: {grid}"
        if panel.get("type") in NO_QUERY:
            continue
        assert panel.get("type"), f"panel {title!r} has no type"
        assert title.strip(), f"panel {panel['id']} has no title"
        exprs = [target.get("expr", "") for target in panel.get("targets", [])]
        assert exprs and all(expr.strip() for expr in exprs), f"panel {title!r}: a target without a query"
        refs = [target.get("refId") for target in panel["targets"]]
        assert len(set(refs)) == len(refs) and all(refs), f"panel {title!r}: refIds {refs}"
    assert ids, "no panels"
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate panel ids {duplicates}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_datasources_by_declared_input_or_fixed_uid(path):
    dashboard = load(path)
    declared = inputs(dashboard)
    for entry in declared.values():
        assert entry.get("type") == "datasource" and entry.get("pluginId") == "prometheus", entry
    found = list(datasources({key: value for key, value in dashboard.items() if key != "__inputs"}))
    assert found, "no datasource anywhere"
    for datasource in found:
        assert isinstance(datasource, dict), f"datasource by name: {datasource!r}"
        assert datasource.get("type") == "prometheus", datasource
        uid = datasource.get("uid", "")
        match = INPUT_REF.fullmatch(uid)
        assert uid == FIXED_UID or (match and match.group(1) in declared), f"undeclared datasource {datasource}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_every_input_reference_is_declared(path):
    dashboard = load(path)
    declared = inputs(dashboard)
    used = {name for text in strings(dashboard) for name in INPUT_REF.findall(text)}
    assert used <= set(declared), f"${{...}} not declared in __inputs: {sorted(used - set(declared))}"
    assert set(declared) <= used, f"declared and never used: {sorted(set(declared) - used)}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_queries_use_only_defined_variables(path):
    dashboard = load(path)
    variables = [variable["name"] for variable in dashboard.get("templating", {}).get("list", [])]
    assert len(set(variables)) == len(variables), variables
    known = set(variables) | BUILTIN_VARIABLES
    queries = [target["expr"] for panel in panels(dashboard) for target in panel.get("targets", [])]
    queries += [
        variable["query"]["query"] if isinstance(variable.get("query"), dict) else variable.get("query", "")
        for variable in dashboard.get("templating", {}).get("list", [])
    ]
    for query in queries:
        for groups in VARIABLE_REF.findall(query):
            name = next(group for group in groups if group)
            assert name in known, f"{query!r} uses ${name}, which is not a variable of the dashboard"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_the_role_substitution_leaves_no_input_behind(path):
    """What the grafana role does before it writes the file: ${DS_*} becomes the fixed datasource uid."""
    text = INPUT_REF.sub(lambda match: FIXED_UID if match.group(1) in inputs(load(path)) else match.group(0),
                         path.read_text())  # fmt: skip
    assert "${DS_" not in text, "an input the role cannot resolve"
    assert json.loads(text)["uid"] == load(path)["uid"]
