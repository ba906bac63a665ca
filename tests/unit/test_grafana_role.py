"""The grafana role's files, rendered by Ansible's own templating from the role's defaults and vars.

Checked against what Grafana's documentation and source say these files
hold (GRAFANA_FACTS B: grafana.ini sections and keys, the provisioning
files' apiVersion 1 layout). The Grafana program cannot be obtained here, so
these tests and the `grafana` Molecule scenario are what shows the files are
right; Grafana reading them was not run here.
"""

import configparser
import json
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
from conftest import forget_collections, trust, trust_as_template

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "grafana"
COLLECTIONS = ROOT / ".build"

# The keys Grafana's provisioning reads (docs/sources/administration/provisioning).
DATASOURCE_KEYS = {
    "name", "type", "access", "orgId", "uid", "url", "user", "database", "basicAuth", "basicAuthUser",
    "withCredentials", "isDefault", "jsonData", "secureJsonData", "version", "editable",
}  # fmt: skip
PROVIDER_KEYS = {
    "name",
    "orgId",
    "folder",
    "folderUid",
    "type",
    "disableDeletion",
    "updateIntervalSeconds",
    "allowUiUpdates",
    "options",
}
EVERY_OPTION = {
    "grafana_http_addr": "10.0.0.5",
    "grafana_http_port": 3300,
    "grafana_domain": "grafana.example.org",
    "grafana_root_url": "https://grafana.example.org/",
    "grafana_admin_user": "root-admin",
    "grafana_admin_password": "given-password-1",
    "grafana_secret_key": "given-secret-key-2",
    "grafana_config_dir": "/srv/grafana/etc",
    "grafana_data_dir": "/srv/grafana/data",
    "grafana_logs_dir": "/srv/grafana/log",
    "grafana_ini_extra": {"log": {"level": "debug"}, "smtp": {"enabled": True, "host": "smtp.example.org:25"}},
    "grafana_prometheus_datasource_uid": "prom",
    "grafana_prometheus_datasource_name": "Metrics",
    "grafana_prometheus_url": "https://prometheus.service.consul:9090",
    "grafana_prometheus_ca_cert": "",
    "grafana_prometheus_username": "reader",
    "grafana_prometheus_password": "given-password-3",
    "grafana_prometheus_scrape_interval": "30s",
    "grafana_datasources": [
        {
            "name": "Loki",
            "type": "loki",
            "uid": "loki",
            "url": "http://loki:3100",
            "basicAuth": True,
            "basicAuthUser": "u",
            "secureJsonData": {"basicAuthPassword": "s3cret"},
        },
    ],
    "grafana_dashboard_folders": [{"uid": "ops", "title": "Operations"}, {"uid": "team", "title": "Team"}],
    "grafana_stack_dashboards": False,
    "grafana_dashboards": [{"dashboard": {"uid": "mine", "title": "Mine", "panels": []}, "folder_uid": "team"}],
    "grafana_dashboards_update_interval": 60,
}


@pytest.fixture(scope="module", autouse=True)
def collection_loader():
    if not (COLLECTIONS / "ansible_collections" / "mlops" / "stack").exists():
        (COLLECTIONS / "ansible_collections" / "mlops").mkdir(parents=True, exist_ok=True)
        (COLLECTIONS / "ansible_collections" / "mlops" / "stack").symlink_to("../../..")
    # Other tests import the collection's code as a plain package: Ansible's
    # own loader starts from a clean slate, and leaves none behind.
    forget_collections()
    _AnsibleCollectionFinder(paths=[str(COLLECTIONS)])._install()
    yield
    _AnsibleCollectionFinder._remove()
    forget_collections()


def templar(tmp_path, _facts=None, **overrides):
    """The role's variables (trusted, as from YAML), overrides (trusted too) and facts (as set_fact stores
    a filter's result: not templates)."""
    variables = {}
    for part in ("defaults", "vars"):
        variables.update(trust(yaml.safe_load((ROLE / part / "main.yml").read_text())))
    variables.update(
        role_path=str(ROLE),
        inventory_hostname="monitoring-1",
        inventory_dir=str(tmp_path / "inventory"),
        playbook_dir=str(tmp_path),
        ansible_managed="Ansible managed",
        groups={},
    )
    variables.update(trust(overrides))
    variables.update(_facts or {})
    return Templar(loader=DataLoader(), variables=variables)


def render(tmp_path, template, **overrides):
    return templar(tmp_path, **overrides).template(trust_as_template((ROLE / "templates" / template).read_text()))


def value(tmp_path, expression, _facts=None, **overrides):
    return templar(tmp_path, _facts, **overrides).template(trust_as_template("{{ " + expression + " }}"))


def ini(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def test_grafana_ini_defaults_turn_off_sign_up_anonymous_and_phoning_home(tmp_path):
    conf = ini(render(tmp_path, "grafana.ini.j2"))
    assert dict(conf["server"]) == {
        "protocol": "http", "http_addr": "0.0.0.0", "http_port": "3000", "domain": "monitoring-1",  # noqa: S104 - grafana.ini's http_addr, not a socket
        "root_url": "%(protocol)s://%(domain)s:%(http_port)s/",
    }  # fmt: skip
    assert dict(conf["paths"]) == {
        "data": "/var/lib/grafana", "logs": "/var/log/grafana", "plugins": "/var/lib/grafana/plugins",
        "provisioning": "/etc/grafana/provisioning",
    }  # fmt: skip
    assert conf["users"]["allow_sign_up"] == "false"
    assert conf["auth.anonymous"]["enabled"] == "false"
    assert conf["analytics"]["reporting_enabled"] == "false"
    assert conf["analytics"]["check_for_updates"] == "false"
    assert conf["security"]["admin_user"] == "admin"
    # The secrets live in the root-only environment file, never in grafana.ini.
    assert "admin_password" not in conf["security"] and "secret_key" not in conf["security"]


def test_grafana_ini_with_every_option_set(tmp_path):
    conf = ini(render(tmp_path, "grafana.ini.j2", **EVERY_OPTION))
    assert conf["server"]["http_addr"] == "10.0.0.5" and conf["server"]["http_port"] == "3300"
    assert conf["server"]["domain"] == "grafana.example.org"
    assert conf["server"]["root_url"] == "https://grafana.example.org/"
    assert conf["security"]["admin_user"] == "root-admin"
    assert conf["security"]["cookie_secure"] == "true"  # an https root_url
    assert (
        conf["paths"]["data"] == "/srv/grafana/data"
        and conf["paths"]["provisioning"] == "/srv/grafana/etc/provisioning"
    )
    assert conf["log"]["level"] == "debug" and conf["log"]["mode"] == "console"  # merged, not replaced
    assert dict(conf["smtp"]) == {"enabled": "true", "host": "smtp.example.org:25"}
    assert conf["users"]["allow_sign_up"] == "false"


def test_environment_file_holds_given_secrets(tmp_path):
    text = render(
        tmp_path,
        "grafana.env.j2",
        grafana_admin_password="given-password-1",  # noqa: S106 - test values
        grafana_secret_key="given-secret-key-2",  # noqa: S106 - test values
    )
    lines = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert lines == {"GF_SECURITY_ADMIN_PASSWORD": "given-password-1", "GF_SECURITY_SECRET_KEY": "given-secret-key-2"}
    assert not (tmp_path / "inventory" / ".secrets").exists()  # nothing generated when given


def test_environment_file_secrets_are_generated_once(tmp_path):
    first = render(tmp_path, "grafana.env.j2")
    again = render(tmp_path, "grafana.env.j2")
    assert first == again
    folder = tmp_path / "inventory" / ".secrets" / "grafana"
    password = (folder / "admin.password").read_text().strip()
    assert f"GF_SECURITY_ADMIN_PASSWORD={password}\n" in first
    assert len(password) == 32 and password.isalnum()
    assert oct((folder / "admin.password").stat().st_mode & 0o777) == "0o600"
    assert len((folder / "secret_key").read_text().strip()) == 40


def test_datasources_file_defaults(tmp_path):
    # What the prometheus role generated once: the monitoring CA and its password.
    monitoring = tmp_path / "inventory" / ".secrets" / "monitoring"
    monitoring.mkdir(parents=True, mode=0o700)
    (monitoring / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nmonitoring CA\n-----END CERTIFICATE-----\n")
    (monitoring / "prometheus.password").write_text("generated-by-the-prometheus-role\n")
    doc = yaml.safe_load(render(tmp_path, "datasources.yaml.j2"))
    assert doc["apiVersion"] == 1
    (prometheus,) = doc["datasources"]
    assert set(prometheus) <= DATASOURCE_KEYS
    assert prometheus["uid"] == "prometheus" and prometheus["type"] == "prometheus" and prometheus["access"] == "proxy"
    assert prometheus["url"] == "https://127.0.0.1:9090"
    assert prometheus["editable"] is False and prometheus["isDefault"] is True
    assert prometheus["jsonData"] == {
        "httpMethod": "POST",
        "timeInterval": "15s",
        "prometheusType": "Prometheus",
        "tlsAuthWithCACert": True,
    }
    assert (prometheus["basicAuth"], prometheus["basicAuthUser"]) == (True, "mlops")
    assert prometheus["secureJsonData"] == {
        "basicAuthPassword": "generated-by-the-prometheus-role",
        "tlsCACert": "-----BEGIN CERTIFICATE-----\nmonitoring CA\n-----END CERTIFICATE-----",
    }


def test_datasource_for_a_prometheus_without_tls_or_password(tmp_path):
    plain = {"prometheus_web_tls": False, "prometheus_web_auth": False}
    (prometheus,) = yaml.safe_load(render(tmp_path, "datasources.yaml.j2", **plain))["datasources"]
    assert prometheus["url"] == "http://127.0.0.1:9090"
    assert prometheus["jsonData"] == {"httpMethod": "POST", "timeInterval": "15s", "prometheusType": "Prometheus"}
    assert "basicAuth" not in prometheus and "secureJsonData" not in prometheus


def test_datasources_file_with_every_option_set(tmp_path):
    doc = yaml.safe_load(render(tmp_path, "datasources.yaml.j2", **EVERY_OPTION))
    prometheus, loki = doc["datasources"]
    assert (prometheus["uid"], prometheus["name"], prometheus["url"]) == (
        "prom",
        "Metrics",
        "https://prometheus.service.consul:9090",
    )
    assert prometheus["jsonData"]["timeInterval"] == "30s" and "tlsAuthWithCACert" not in prometheus["jsonData"]
    assert prometheus["basicAuthUser"] == "reader"
    assert prometheus["secureJsonData"] == {"basicAuthPassword": "given-password-3"}
    assert set(loki) <= DATASOURCE_KEYS and loki["secureJsonData"] == {"basicAuthPassword": "s3cret"}
    # A file with secrets is written without a diff. (int: ansible-core < 2.19 renders a string.)
    assert (
        int(
            value(
                tmp_path,
                "__grafana_datasources_file.datasources | selectattr('secureJsonData', 'defined') | list | length",
                **EVERY_OPTION,
            )
        )
        == 2
    )


def test_dashboard_providers_one_per_folder_by_uid(tmp_path):
    doc = yaml.safe_load(render(tmp_path, "dashboards.yaml.j2", **EVERY_OPTION))
    assert doc["apiVersion"] == 1
    assert [p["folderUid"] for p in doc["providers"]] == ["ops", "team"]
    for provider in doc["providers"]:
        assert set(provider) <= PROVIDER_KEYS
        assert provider["type"] == "file" and provider["orgId"] == 1
        assert provider["options"] == {
            "path": "/srv/grafana/etc/dashboards/" + provider["folderUid"],
            "foldersFromFilesStructure": False,
        }
        assert provider["updateIntervalSeconds"] == 60
        assert provider["allowUiUpdates"] is False


def test_the_collections_dashboards_are_resolved_and_keyed_by_uid(tmp_path):
    files = value(tmp_path, "__grafana_dashboard_files")
    assert {f["uid"] for f in files} == {"mlops-ml-training", "mlops-nomad", "mlops-consul", "mlops-monitoring"}
    for f in files:
        text = json.dumps(f["dashboard"])
        assert f["folder"] == "mlops-stack"
        assert "${DS_PROMETHEUS}" not in text and '"uid": "prometheus"' in text
        assert not {"__inputs", "__requires", "__elements", "id"} & set(f["dashboard"])
    writes = value(tmp_path, "__grafana_dashboard_writes", {"__grafana_dashboards_read": files})
    assert sorted(w["dest"] for w in writes) == sorted(
        f"/etc/grafana/dashboards/mlops-stack/{f['uid']}.json" for f in files
    )
    for write, f in zip(writes, files, strict=True):
        assert write["content"].endswith("}\n") and json.loads(write["content"]) == f["dashboard"]
        assert (write["group"], write["mode"]) == ("grafana", "0640")


def test_operator_dashboards_go_to_their_folder(tmp_path):
    files = value(tmp_path, "__grafana_dashboard_files", **EVERY_OPTION)
    writes = value(tmp_path, "__grafana_dashboard_writes", {"__grafana_dashboards_read": files}, **EVERY_OPTION)
    assert [w["dest"] for w in writes] == ["/srv/grafana/etc/dashboards/team/mine.json"]
    dirs = [d["path"] for d in value(tmp_path, "__grafana_directories", **EVERY_OPTION)]
    assert dirs[-2:] == ["/srv/grafana/etc/dashboards/ops", "/srv/grafana/etc/dashboards/team"]


@pytest.mark.parametrize(
    ("dashboards", "message"),
    [
        ([{"dashboard": ["not", "an", "object"]}], "dashboard 0 (dashboard): must be a JSON object"),
        ([{"dashboard": {"uid": "x", "title": "  "}}], "`title` is missing or empty"),
        ([{"dashboard": {"title": "No uid"}}], "`uid` is missing"),
        ([{"dashboard": {"uid": "a" * 41, "title": "Long"}}], "Grafana allows at most 40"),
        ([{"dashboard": {"uid": "bad uid", "title": "Space"}}], "contains characters Grafana does not allow"),
        ([{"dashboard": {"uid": "x", "title": "X"}, "folder_uid": "nope"}], "folder_uid nope is not one of"),
        (
            [{"dashboard": {"uid": "x", "title": "A"}}, {"dashboard": {"uid": "x", "title": "B"}}],
            "uid x is also the uid of dashboard 0",
        ),
        ([{"file": "missing.json"}], "dashboard 0 (missing.json): cannot be read"),
        ([{"file": "broken.json"}], "dashboard 0 (broken.json): not valid JSON"),
        (
            [
                {
                    "dashboard": {
                        "uid": "x",
                        "title": "X",
                        "__inputs": [{"name": "DS_LOGS", "type": "datasource", "pluginId": "loki"}],
                    }
                }
            ],
            "DS_LOGS",
        ),
    ],
)
def test_a_bad_dashboard_is_refused_naming_it(tmp_path, dashboards, message):
    (tmp_path / "broken.json").write_text('{"uid": "x",')
    with pytest.raises(AnsibleError) as error:
        value(tmp_path, "__grafana_dashboard_files", grafana_stack_dashboards=False, grafana_dashboards=dashboards)
    assert message in str(error.value)
