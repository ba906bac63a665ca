"""host_probe's one look per host, run by ansible-playbook on this machine (connection local).

A probe with record keeps its lists on the host; a later recorded=true run reads every recorded probe's part at
once; a probe given that reading (ahead) returns it with no module run when it asks for exactly the same lists,
and runs the module otherwise. A check run keeps no record. site.yml's use of it (every role's probe on every
host) runs in the platform scenario, whose idempotence, check and hand-edit steps show that nothing is missed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def playbook(tmp_path, tasks, *args):
    book = tmp_path / "probe.yml"
    book.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                     "tasks": tasks}]))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_LOCALHOST_WARNING": "false",
           "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"}
    # The module runs with this interpreter (which has what the collection needs), not a discovered one.
    run = subprocess.run(["ansible-playbook", "-i", "localhost,", "-e", "ansible_python_interpreter=" + sys.executable,
                          str(book), *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(run.stdout)["plays"][0]["tasks"]
    return {task["task"]["name"]: task["hosts"]["localhost"] for task in results}


def probe(name, record_path, register=None, **args):
    task = {"name": name, "mlops.stack.host_probe": {"record_path": str(record_path), **args}}
    if register:
        task["register"] = register
    return task


def test_recorded_probes_are_read_at_once_and_reused_only_for_the_same_lists(tmp_path):
    record = tmp_path / "state" / "host_probe.json"
    config = tmp_path / "app.conf"
    config.write_text("port = 1\n")
    other = tmp_path / "other.conf"
    paths = [str(config), str(tmp_path / "missing")]

    first = playbook(tmp_path, [
        probe("app", record, paths=paths, users=["root"], record="install:app"),
        probe("other", record, paths=[str(other)], record="other"),
    ])
    assert not first["app"]["changed"] and first["app"]["files"][str(config)]["exists"]
    assert "reused" not in first["app"]
    assert oct(record.stat().st_mode & 0o777) == "0o600"
    assert oct(record.parent.stat().st_mode & 0o777) == "0o700"
    saved = json.loads(record.read_text())["probes"]
    assert saved["install:app"]["paths"] == paths and saved["install:app"]["users"] == ["root"]
    assert saved["other"]["paths"] == [str(other)]
    # The same lists again: the record is not rewritten.
    written = record.stat().st_mtime_ns
    playbook(tmp_path, [probe("app", record, paths=paths, users=["root"], record="install:app")])
    assert record.stat().st_mtime_ns == written

    # The one look, then the same probes given it. A hand edit made before the look is in it.
    config.write_text("port = 2\n")
    second = playbook(tmp_path, [
        probe("look", record, register="ahead", recorded=True),
        probe("app", record, paths=paths, users=["root"], record="install:app", ahead="{{ ahead }}"),
        probe("app, other lists", record, paths=paths[:1], users=["root"], record="install:app",
              ahead="{{ ahead }}"),
        probe("other, no longer read ahead", record, paths=[str(other)], record="other", ahead="{{ {} }}"),
    ])
    look = second["look"]["recorded"]
    assert set(look) == {"install:app", "other"}
    assert look["install:app"]["spec"]["paths"] == paths
    reused = second["app"]
    assert reused["reused"] is True and not reused["changed"]
    assert reused["files"] == look["install:app"]["result"]["files"]
    assert reused["files"][str(config)]["checksum"] != first["app"]["files"][str(config)]["checksum"]
    assert reused["users"]["root"]["uid"] == 0 and reused["machine"] == os.uname().machine
    # Other lists than recorded: the module runs (and records them).
    assert "reused" not in second["app, other lists"]
    assert json.loads(record.read_text())["probes"]["install:app"]["paths"] == paths[:1]
    assert "reused" not in second["other, no longer read ahead"]
    assert not second["other, no longer read ahead"]["files"][str(other)]["exists"]


def test_a_check_run_reuses_the_look_but_keeps_no_record(tmp_path):
    record = tmp_path / "host_probe.json"
    config = tmp_path / "app.conf"
    config.write_text("x\n")
    checked = playbook(tmp_path, [
        probe("look", record, register="ahead", recorded=True),
        probe("app", record, paths=[str(config)], record="install:app", ahead="{{ ahead }}"),
    ], "--check")
    assert checked["look"]["recorded"] == {}
    assert checked["app"]["files"][str(config)]["exists"] and "reused" not in checked["app"]
    assert not record.exists()

    playbook(tmp_path, [probe("app", record, paths=[str(config)], record="install:app")])
    unchanged = record.stat().st_mtime_ns
    checked = playbook(tmp_path, [
        probe("look", record, register="ahead", recorded=True),
        probe("app", record, paths=[str(config)], record="install:app", ahead="{{ ahead }}"),
    ], "--check")
    assert checked["app"]["reused"] is True
    assert record.stat().st_mtime_ns == unchanged
