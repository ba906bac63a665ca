"""Pure logic of the Grafana modules: normalisation, __inputs substitution, uid rules, error mapping."""

import copy
import io
import sys
from pathlib import Path
from typing import ClassVar
from urllib.error import HTTPError, URLError

import pytest
from ansible.errors import AnsibleFilterError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build"))  # ansible_collections/mlops/stack -> the checkout

from ansible_collections.mlops.stack.plugins.filter import grafana as grafana_filter  # noqa: E402
from ansible_collections.mlops.stack.plugins.module_utils import grafana  # noqa: E402
from ansible_collections.mlops.stack.plugins.module_utils.dashboard_json import (  # noqa: E402
    GrafanaInputError,
    dashboard_comparison,
    normalize_dashboard,
    resolve_dashboard_inputs,
    uid_problem,
    validate_uid,
)
from ansible_collections.mlops.stack.plugins.module_utils.grafana import (  # noqa: E402
    GrafanaAPIError,
    GrafanaClient,
    error_message,
)

# ----- normalisation ------------------------------------------------------------------------------------------


def test_normalisation_drops_what_grafana_sets_and_keeps_the_rest():
    stored = {
        "id": 12, "uid": "u", "version": 7, "title": " Nomad ", "tags": ["a"],
        "panels": [
            {"id": 1, "type": "stat", "libraryPanel": {"uid": "lp", "name": "Shared", "model": {}, "version": 3}},
            {"id": 2, "type": "row", "panels": [{"id": 3, "type": "graph", "title": "inner"}]},
        ],
    }  # fmt: skip
    original = copy.deepcopy(stored)
    assert normalize_dashboard(stored) == {
        "uid": "u", "title": "Nomad", "tags": ["a"],
        "panels": [
            {"type": "stat", "libraryPanel": {"uid": "lp", "name": "Shared"}},
            {"type": "row", "panels": [{"type": "graph", "title": "inner"}]},
        ],
    }  # fmt: skip
    assert stored == original, "the input was changed"
    assert "uid" not in normalize_dashboard(stored, keep_uid=False)


def test_comparison_keeps_the_uid_only_when_the_desired_json_has_one():
    current = {"id": 1, "uid": "generated", "version": 4, "title": "T"}
    assert dashboard_comparison({"title": "T"}, current) == ({"title": "T"}, {"title": "T"})
    before, after = dashboard_comparison({"uid": "mine", "title": "T"}, current)
    assert before != after and before["uid"] == "generated"
    # Panel ids and versions are not differences; a panel's content is.
    desired = {"uid": "u", "title": "T", "panels": [{"type": "stat", "title": "x"}]}
    stored = {"id": 5, "uid": "u", "version": 9, "title": "T", "panels": [{"id": 1, "type": "stat", "title": "x"}]}
    before, after = dashboard_comparison(desired, stored)
    assert before == after
    stored["panels"][0]["title"] = "y"
    assert dashboard_comparison(desired, stored)[0] != dashboard_comparison(desired, stored)[1]


# ----- __inputs -----------------------------------------------------------------------------------------------

EXPORTED = {
    "__inputs": [{"name": "DS_PROM", "type": "datasource", "pluginId": "prometheus"},
                 {"name": "VAR_ENV", "type": "constant", "value": "prod"}],
    "__requires": [{"type": "grafana", "id": "grafana"}],
    "__elements": {"lp": {"uid": "lp"}},
    "title": "Env ${VAR_ENV}",
    "panels": [{"datasource": {"uid": "${DS_PROM}"}, "targets": [{"expr": "up{env=\"${VAR_ENV}\"} ${other} $VAR_ENV"}],
                "${DS_PROM}": "keys stay", "maxDataPoints": 100, "transparent": True, "links": None}],
}  # fmt: skip


def test_inputs_are_substituted_only_in_strings_and_only_when_declared():
    result = resolve_dashboard_inputs(EXPORTED, {"DS_PROM": "prom-uid", "VAR_ENV": "prod", "UNUSED": "x"})
    assert result == {
        "title": "Env prod",
        "panels": [{"datasource": {"uid": "prom-uid"}, "targets": [{"expr": 'up{env="prod"} ${other} $VAR_ENV'}],
                    "${DS_PROM}": "keys stay", "maxDataPoints": 100, "transparent": True, "links": None}],
    }  # fmt: skip
    assert "__inputs" in EXPORTED, "the input was changed"


def test_the_regex_is_grafanas_lazy_one():
    dashboard = {"__inputs": [{"name": "A", "type": "constant"}, {"name": "B", "type": "constant"}],
                 "title": "${A}${B}", "x": "${A${B}}", "y": "${}"}  # fmt: skip
    result = resolve_dashboard_inputs(dashboard, {"A": "1", "B": "2"})
    # "${A${B}" is matched first and is no declared name, so the rest stays too, as in Go's regexp.
    assert result == {"title": "12", "x": "${A${B}}", "y": "${}"}


def test_nested_inputs_keys_are_dropped_like_grafanas_evaluator_does():
    dashboard = {"title": "t", "panels": [{"__inputs": [1], "title": "p"}], "__requires": []}
    assert resolve_dashboard_inputs(dashboard, {}) == {"title": "t", "panels": [{"title": "p"}]}


def test_a_missing_input_is_named_and_expressions_need_none():
    with pytest.raises(GrafanaInputError, match=r"^Dashboard input variable: DS_PROM missing from inputs$"):
        resolve_dashboard_inputs(EXPORTED, {"VAR_ENV": "prod"})
    with pytest.raises(GrafanaInputError, match="DS_PROM missing"):
        resolve_dashboard_inputs(EXPORTED, {"DS_PROM": None, "VAR_ENV": "prod"})
    expression = {"__inputs": [{"name": "DS_EXPR", "type": "datasource", "pluginId": "__expr__"}],
                  "title": "${DS_EXPR}"}  # fmt: skip
    assert resolve_dashboard_inputs(expression, {"DS_EXPR": "ignored"}) == {"title": "__expr__"}


def test_input_values_must_be_strings_or_numbers():
    dashboard = {"__inputs": [{"name": "N", "type": "constant"}], "title": "${N}"}
    assert resolve_dashboard_inputs(dashboard, {"N": 5}) == {"title": "5"}
    with pytest.raises(GrafanaInputError, match="the value of N must be a string, not list"):
        resolve_dashboard_inputs(dashboard, {"N": [1]})
    with pytest.raises(GrafanaInputError, match="not a JSON object"):
        resolve_dashboard_inputs([dashboard], {})


def test_the_filter_resolves_and_fails_as_an_ansible_filter_error():
    assert grafana_filter.FilterModule().filters()["grafana_resolve_inputs"] is grafana_filter.grafana_resolve_inputs
    text = '{"__inputs": [{"name": "DS_PROMETHEUS", "type": "datasource"}], "uid": "${DS_PROMETHEUS}"}'
    assert grafana_filter.grafana_resolve_inputs(text, {"DS_PROMETHEUS": "prom"}) == {"uid": "prom"}
    with pytest.raises(AnsibleFilterError, match="Dashboard input variable: DS_PROMETHEUS missing"):
        grafana_filter.grafana_resolve_inputs(text)
    with pytest.raises(AnsibleFilterError, match="not valid JSON"):
        grafana_filter.grafana_resolve_inputs("{nope")


# ----- uids ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("uid", ["", "a", "A-b_9", "x" * 40])
def test_valid_uids(uid):
    assert uid_problem(uid) is None
    validate_uid(uid, "uid")


def test_uid_messages_name_the_field_characters_first():
    with pytest.raises(ValueError, match=r"^folder_uid: 'x{41}' is 41 characters long; Grafana allows at most 40$"):
        validate_uid("x" * 41, "folder_uid")
    with pytest.raises(ValueError, match=r"^uid: 'a b' contains characters Grafana does not allow in a uid"):
        validate_uid("a b", "uid")
    assert "contains characters" in uid_problem("ü" * 41)  # like Grafana: the characters are checked first
    assert uid_problem(5) == "must be a string, not int"
    validate_uid(None, "uid")  # not given: nothing to check


# ----- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason", "message"),
    [
        (b'{"message":"folder not found","status":"not-found"}', "Not Found", "folder not found"),
        (b'{"message":"Cannot save\\nprovisioned dashboard"}', "", "Cannot save provisioned dashboard"),
        (b'{"error":"x"}', "Bad Request", '{"error":"x"}'),
        (b"<html>502 Bad Gateway</html>", "Bad Gateway", "<html>502 Bad Gateway</html>"),
        (b"", "Service Unavailable", "Service Unavailable"),
    ],
)
def test_error_messages_are_grafanas_own_on_one_line(body, reason, message):
    assert error_message(body, reason) == message


def test_the_error_names_method_url_status_and_message():
    error = GrafanaAPIError("POST", "http://g:3000/api/folders", 412, "the folder has been changed by someone else")
    assert str(error) == (
        "Grafana API POST http://g:3000/api/folders answered HTTP 412: the folder has been changed by someone else"
    )
    explained = error.explained("Grafana has no folder with uid x")
    assert explained.status == 412 and str(explained).endswith("someone else; Grafana has no folder with uid x")
    assert str(GrafanaAPIError("GET", "http://g:3000/api/x", None, "refused")) == (
        "Grafana at http://g:3000/api/x is unreachable: refused"
    )


class FakeRequest:
    """Stands in for ansible.module_utils.urls.Request: records open() and answers or raises."""

    calls: ClassVar[list] = []
    answer = b""
    errors: ClassVar[list] = []  # raised first, one per request

    def open(self, method, url, **kwargs):
        FakeRequest.calls.append((method, url, kwargs))
        if FakeRequest.errors:
            raise FakeRequest.errors.pop(0)
        return io.BytesIO(FakeRequest.answer)


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setattr(grafana, "Request", FakeRequest)
    monkeypatch.setattr(grafana, "make_context", lambda **kwargs: "tls-context")
    FakeRequest.calls, FakeRequest.errors = [], []
    params = {"url": "https://grafana.example.com/sub/", "url_username": "admin", "url_password": "pw",
              "token": None, "org_id": 2, "timeout": 5}  # fmt: skip
    return GrafanaClient(params)


def test_requests_carry_auth_org_json_and_one_tls_context(client):
    FakeRequest.answer = b'{"uid": "a"}'
    assert client.create_folder("a", "A", parent_uid="p") == {"uid": "a"}
    method, url, kwargs = FakeRequest.calls[0]
    assert (method, url) == ("POST", "https://grafana.example.com/sub/api/folders")
    assert kwargs["data"] == '{"uid": "a", "title": "A", "parentUid": "p"}'
    assert kwargs["headers"] == {"Accept": "application/json", "X-Grafana-Org-Id": "2",
                                 "Content-Type": "application/json"}  # fmt: skip
    assert (
        kwargs["force_basic_auth"] is True and kwargs["url_username"] == "admin" and kwargs["context"] == "tls-context"
    )
    client.token = "glsa_x"  # noqa: S105
    client.delete_folder("a", force_delete_rules=True)
    method, url, kwargs = FakeRequest.calls[1]
    assert (
        url.endswith("/api/folders/a?forceDeleteRules=true") and kwargs["headers"]["Authorization"] == "Bearer glsa_x"
    )
    assert kwargs["force_basic_auth"] is False and kwargs["url_password"] is None


def test_http_errors_become_one_error_with_status_and_message(client):
    body = io.BytesIO(b'{"message":"Invalid username or password"}')
    FakeRequest.errors = [HTTPError("https://g/api/folders/a", 401, "Unauthorized", {}, body)]
    with pytest.raises(GrafanaAPIError) as raised:
        client.get_folder("a")
    assert raised.value.status == 401 and raised.value.message == "Invalid username or password"
    FakeRequest.errors = [HTTPError("https://g/api/folders/a", 404, "Not Found", {}, io.BytesIO(b"{}"))]
    assert client.get_folder("a") is None  # a missing folder is an answer, not an error
    FakeRequest.errors = [URLError("Connection refused")]
    with pytest.raises(GrafanaAPIError, match="is unreachable: Connection refused") as raised:
        client.get_dashboard("a")
    assert raised.value.status is None
    FakeRequest.answer = b"<html>"
    with pytest.raises(GrafanaAPIError, match="answered HTTP 200: not JSON: <html>"):
        client.get_datasource("a")
