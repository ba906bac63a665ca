"""Every panel query of every shipped dashboard returns series from the platform's real Prometheus.

The dashboards' template variables get the values Grafana would offer here: each variable's own
label_values() query runs against Prometheus (so the training run's real model and run id), and
every value is selected, formatted the way Grafana formats a multi-value variable for Prometheus.
"""

import json
import os
import re
import shlex
import sys
from functools import partial
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))
import waiting

testinfra_hosts = ["e2e-monitoring-1"]
ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = sorted((ROOT / "roles/grafana/files/dashboards").glob("*.json"))
PROMETHEUS = "https://127.0.0.1:9090/api/v1"
SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets"
# Prometheus' web user (HTTPS from the monitoring CA; the password generated once on the controller).
PASSWORD = (SECRETS / "monitoring" / "prometheus.password").read_text().strip()
AUTH = f"--cacert /etc/prometheus/tls/ca.crt -u mlops:{PASSWORD}"
# Grafana's own variables, with values for a 15s scrape interval and a 1h time range.
BUILTINS = {
    "__rate_interval": "1m", "__interval": "30s", "__interval_ms": "30000",
    "__range": "1h", "__range_s": "3600", "__range_ms": "3600000",
}  # fmt: skip
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")
LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)\s*$", re.DOTALL)


# Series of a fresh platform need a scrape or two (and the leader's first autopilot run).
eventually = partial(
    waiting.eventually, timeout=240, interval=3, errors=(AssertionError, ValueError, RuntimeError, KeyError)
)


def api(host, path, **params):
    data = " ".join(f"--data-urlencode {shlex.quote(f'{key}={value}')}" for key, value in params.items())
    body = json.loads(host.check_output(f"curl -fsS {AUTH} -G {PROMETHEUS}{path} {data}"))
    assert body["status"] == "success", body
    return body["data"]


def panels(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def substitute(text, values):
    def value(match):
        name = next(group for group in match.groups() if group)
        assert name in values, f"unknown variable ${name} in {text!r}"
        return values[name]

    return VARIABLE.sub(value, text)


def regex_escape(value):
    """Grafana's prometheusSpecialRegexEscape: a regex escape inside a PromQL string."""
    return re.sub(r"([$^*{}\[\]'+?.()|])", r"\\\\\1", value.replace("\\", "\\\\\\\\"))


def variable_values(host, dashboard):
    """Each query variable's values from Prometheus, in the dashboard's order (later ones use earlier ones)."""
    values = dict(BUILTINS)
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        query = query.get("query", "") if isinstance(query, dict) else query
        match = LABEL_VALUES.match(query or "")
        assert variable["type"] == "query" and match, f"{dashboard['title']}: variable {variable['name']}: {query!r}"
        selector, label = match.groups()
        params = {"match[]": substitute(selector, values)} if selector else {}
        found = api(host, f"/label/{label}/values", **params)
        assert found, f"{dashboard['title']}: variable {variable['name']} has no values ({substitute(query, values)})"
        if variable.get("multi") or variable.get("includeAll"):
            escaped = [regex_escape(item) for item in found]
            values[variable["name"]] = escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
        else:
            values[variable["name"]] = found[0].replace("\\", "\\\\").replace("'", "\\'")
    return values


def queries_without_series(host, dashboard):
    values = variable_values(host, dashboard)
    empty = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            expr = substitute(target["expr"], values)
            if not api(host, "/query", query=expr)["result"]:
                empty.append(f"{dashboard['title']} / {panel['title']} ({target['refId']}): {expr}")
    return empty


def test_the_dashboards_are_there():
    assert len(DASHBOARDS) == 4, DASHBOARDS


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_every_panel_query_returns_series(host, path):
    dashboard = json.loads(path.read_text())

    def check():
        empty = queries_without_series(host, dashboard)
        assert not empty, "panel queries without a series:\n" + "\n".join(empty)

    eventually(check)
