"""The mirror's Consul and Nomad are the real programs, in the upstream
layout: each starts from its checksum-verified archive and serves its API."""

import json
import subprocess
import time
import zipfile

import pytest

import mirror
from programs import PINS, http, unpack, verified_archive


@pytest.mark.parametrize("program", ["consul", "nomad"])
def test_zip_has_upstream_layout_and_reports_its_version(program, tmp_path):
    archive = verified_archive(program)
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == sorted([program, "LICENSE.txt"])
    folder = unpack(archive, tmp_path)
    out = subprocess.run([str(folder / program), "version"], capture_output=True, text=True, check=True)
    assert f"v{PINS[program]}" in out.stdout
    assert archive.name == mirror.RECIPES[program].fmt(mirror.RECIPES[program].archive, PINS[program], mirror.go_arch())


def test_consul_dev_agent_has_a_leader(consul_dev):
    status, body = http("GET", f"{consul_dev}/v1/status/leader")
    assert status == 200
    assert json.loads(body).startswith("127.0.0.1:")
    status, body = http("GET", f"{consul_dev}/v1/agent/self")
    assert json.loads(body)["Config"]["Version"] == PINS["consul"]


def test_nomad_dev_agent_has_a_leader_a_ui_and_a_ready_node(nomad_dev):
    status, body = http("GET", f"{nomad_dev}/v1/status/leader")
    assert status == 200 and json.loads(body).startswith("127.0.0.1:")
    status, body = http("GET", f"{nomad_dev}/ui/")
    assert status == 200
    assert b"<title>Nomad</title>" in body or b"nomad-ui" in body.lower()
    deadline = time.monotonic() + 60
    nodes = []
    while time.monotonic() < deadline:
        body = http("GET", f"{nomad_dev}/v1/nodes")[1]
        nodes = json.loads(body)
        if nodes and nodes[0]["Status"] == "ready":
            break
        time.sleep(0.5)
    assert nodes and nodes[0]["Status"] == "ready", nodes
    body = http("GET", f"{nomad_dev}/v1/agent/self")[1]
    assert json.loads(body)["config"]["Version"]["Version"] == PINS["nomad"]
