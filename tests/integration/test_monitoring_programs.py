"""The mirror's Pushgateway and Prometheus are the real programs, in the
upstream layout, and work together: a metric pushed to the Pushgateway is
scraped by Prometheus and returned by a PromQL query."""

import json
import subprocess
import time
import urllib.parse

import pytest

import mirror
from programs import PINS, free_port, http, unpack, verified_archive

UPSTREAM_MEMBERS = {
    "pushgateway": {"pushgateway", "LICENSE", "NOTICE"},
    "prometheus": {"prometheus", "promtool", "prometheus.yml", "LICENSE", "NOTICE"},
}


@pytest.mark.parametrize("program", sorted(UPSTREAM_MEMBERS))
def test_archive_has_upstream_layout_and_reports_its_version(program, tmp_path):
    folder = unpack(verified_archive(program), tmp_path)
    recipe = mirror.RECIPES[program]
    assert folder.name == recipe.fmt(recipe.archive_dir, PINS[program], mirror.go_arch())
    assert {p.name for p in folder.iterdir()} == UPSTREAM_MEMBERS[program]
    out = subprocess.run([str(folder / program), "--version"], capture_output=True, text=True, check=True)
    assert f"version {PINS[program]}" in (out.stdout + out.stderr)


@pytest.fixture
def pushgateway(run_program, tmp_path):
    folder = unpack(verified_archive("pushgateway"), tmp_path / "pgw")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    run_program(
        "pushgateway",
        [
            str(folder / "pushgateway"),
            f"--web.listen-address=127.0.0.1:{port}",
            f"--persistence.file={tmp_path / 'metrics.store'}",
        ],
        f"{base}/-/ready",
    )
    return base


def test_pushgateway_accepts_and_exposes_a_metric(pushgateway):
    status, _body = http("POST", f"{pushgateway}/metrics/job/it/instance/a", b"mlops_it_probe 7\n")
    assert status == 200
    body = http("GET", f"{pushgateway}/metrics")[1]
    assert b'mlops_it_probe{instance="a",job="it"} 7' in body


def test_prometheus_scrapes_a_pushed_metric(pushgateway, run_program, tmp_path):
    folder = unpack(verified_archive("prometheus"), tmp_path / "prom")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: pushgateway\n"
        "    honor_labels: true\n"
        f"    static_configs: [{{targets: ['{pushgateway.removeprefix('http://')}']}}]\n"
    )
    check = subprocess.run(
        [str(folder / "promtool"), "check", "config", str(config)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    base = f"http://127.0.0.1:{port}"
    run_program(
        "prometheus",
        [
            str(folder / "prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        f"{base}/-/ready",
    )
    http("POST", f"{pushgateway}/metrics/job/training/instance/run-1", b"mlops_training_accuracy 0.93\n")
    query = urllib.parse.quote('mlops_training_accuracy{job="training"}')
    deadline = time.monotonic() + 30
    result = []
    while time.monotonic() < deadline and not result:
        status, body = http("GET", f"{base}/api/v1/query?query={query}")
        assert status == 200, body
        result = json.loads(body)["data"]["result"]
        time.sleep(0.5)
    assert result, "Prometheus never returned the pushed metric"
    assert result[0]["metric"]["instance"] == "run-1"  # honor_labels kept the pushed labels
    assert float(result[0]["value"][1]) == pytest.approx(0.93)


def test_promtool_rejects_a_broken_config_naming_the_problem(tmp_path):
    folder = unpack(verified_archive("prometheus"), tmp_path)
    config = tmp_path / "bad.yml"
    config.write_text("scrape_configs:\n  - job_name: x\n    scrape_interval: often\n")
    check = subprocess.run(
        [str(folder / "promtool"), "check", "config", str(config)], capture_output=True, text=True, check=False
    )
    assert check.returncode != 0
    assert "often" in (check.stdout + check.stderr)
