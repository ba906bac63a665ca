"""Module release_install, run as Ansible runs it (a real process, its arguments in a file) against a real HTTP server.

The roles' installs, upgrades, rollbacks and the tampered-mirror refusal run against real hosts in the Molecule
scenarios (default: the Pushgateway's); these tests pin down the module's own contract on this machine's files.
"""

import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = b"#!/bin/sh\necho 1.0.0\n"


@pytest.fixture
def served(tmp_path):
    """A real HTTP server on 127.0.0.1 serving tmp_path/www; yields (folder, base URL, the paths it was asked for)."""
    www = tmp_path / "www"
    www.mkdir()
    asked = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(www), **kwargs)

        def log_message(self, *args):
            asked.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


def tarball(path, members):
    with tarfile.open(path, "w:gz") as bundle:
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            bundle.addfile(info, io.BytesIO(data))


def publish(www, name, checksum=None):
    digest = checksum or hashlib.sha256((www / name).read_bytes()).hexdigest()
    (www / "SHA256SUMS").write_text(f"{'0' * 64}  other.zip\n{digest}  {name}\n")


def run(tmp_path, check=False, **args):
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check)}))
    done = subprocess.run(
        [sys.executable, "-m", "ansible_collections.mlops.stack.plugins.modules.release_install", str(path)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT / ".build")),
        check=False,
    )
    return json.loads(done.stdout)


def install_args(tmp_path, base, name, **over):
    (tmp_path / "bin").mkdir(exist_ok=True)
    args = {"url": f"{base}/{name}", "checksum_url": base + "/SHA256SUMS",
            "archive_path": str(tmp_path / "opt" / "prog" / name), "dest": str(tmp_path / "opt" / "prog" / "1.0.0"),
            "binaries": ["prog"], "bin_dir": str(tmp_path / "bin"),
            "state_file": str(tmp_path / "opt" / "prog" / ".install-state.json"), "state_content": "{}\n"}  # fmt: skip
    args.update(over)
    return args


def test_a_tarball_installed_linked_and_recorded_then_nothing(tmp_path, served):
    www, base, asked = served
    tarball(www / "prog-1.0.0.tar.gz", [("prog-1.0.0/prog", PROGRAM, 0o4775), ("prog-1.0.0/LICENSE", b"text\n", 0o644)])
    publish(www, "prog-1.0.0.tar.gz")
    args = install_args(tmp_path, base, "prog-1.0.0.tar.gz", strip_components=1)
    owe = tmp_path / "opt" / "prog" / ".owed-restart"
    result = run(tmp_path, owe_path=str(owe), owe_content="restart\n", **args)
    assert result["changed"] and result["downloaded"] and result["unpacked"], result
    binary, link = tmp_path / "opt/prog/1.0.0/prog", tmp_path / "bin/prog"
    assert result["links_changed"] == [str(link)] and os.readlink(link) == str(binary)
    assert oct(binary.stat().st_mode & 0o7777) == "0o755"  # never set-user-ID, whatever the archive says
    assert (tmp_path / "opt/prog/1.0.0/LICENSE").read_text() == "text\n"
    assert (tmp_path / "opt/prog/.install-state.json").read_text() == "{}\n" and owe.read_text() == "restart\n"
    assert subprocess.run([str(link)], capture_output=True, text=True, check=True).stdout == "1.0.0\n"

    again = run(tmp_path, **args)
    assert not again["changed"] and again["links_changed"] == [] and not again["downloaded"], again
    assert asked.count("/prog-1.0.0.tar.gz") == 1  # the second run asked for nothing


def test_a_zip_gets_executable_binaries_and_a_kept_archive_serves_a_rollback(tmp_path, served):
    www, base = served[:2]
    with zipfile.ZipFile(www / "prog_1.0.0.zip", "w") as bundle:
        bundle.writestr("prog", PROGRAM)  # no Unix mode stored, as python -m zipfile writes
    publish(www, "prog_1.0.0.zip")
    args = install_args(tmp_path, base, "prog_1.0.0.zip")
    assert run(tmp_path, **args)["changed"]
    assert oct((tmp_path / "opt/prog/1.0.0/prog").stat().st_mode & 0o777) == "0o755"

    # The version folder gone (another version ran meanwhile); the kept archive is checked, not downloaded.
    for path in sorted((tmp_path / "opt/prog/1.0.0").iterdir()):
        path.unlink()
    (tmp_path / "opt/prog/1.0.0").rmdir()
    (www / "prog_1.0.0.zip").unlink()
    result = run(tmp_path, **args)
    assert result["changed"] and result["unpacked"] and not result["downloaded"], result
    assert (tmp_path / "opt/prog/1.0.0/prog").read_bytes() == PROGRAM


def test_a_checksum_mismatch_names_both_hashes_and_leaves_nothing(tmp_path, served):
    www, base = served[:2]
    tarball(www / "prog-1.0.0.tar.gz", [("prog-1.0.0/prog", PROGRAM, 0o755)])
    real = hashlib.sha256((www / "prog-1.0.0.tar.gz").read_bytes()).hexdigest()
    wrong = hashlib.sha256(b"tampered").hexdigest()
    publish(www, "prog-1.0.0.tar.gz", checksum=wrong)
    result = run(tmp_path, **install_args(tmp_path, base, "prog-1.0.0.tar.gz", strip_components=1))
    assert result.get("failed"), result
    assert "Checksum mismatch for prog-1.0.0.tar.gz" in result["msg"]
    assert wrong in result["msg"] and real in result["msg"] and base + "/SHA256SUMS" in result["msg"]
    assert not (tmp_path / "opt/prog/1.0.0").exists() and not (tmp_path / "opt/prog/prog-1.0.0.tar.gz").exists()
    assert not os.path.lexists(tmp_path / "bin/prog") and not (tmp_path / "opt/prog/.install-state.json").exists()


def test_check_mode_writes_nothing_and_a_file_in_the_way_or_unsafe_names_are_refused(tmp_path, served):
    www, base, asked = served
    tarball(www / "prog-1.0.0.tar.gz", [("prog-1.0.0/prog", PROGRAM, 0o755)])
    publish(www, "prog-1.0.0.tar.gz")
    args = install_args(tmp_path, base, "prog-1.0.0.tar.gz", strip_components=1)
    checked = run(tmp_path, check=True, **args)
    assert checked["changed"] and checked["links_changed"] == [str(tmp_path / "bin/prog")], checked
    assert not (tmp_path / "opt").exists() and asked == []

    (tmp_path / "bin/prog").write_text("someone else's program\n")
    refused = run(tmp_path, **args)
    assert refused.get("failed"), refused
    assert refused["msg"].startswith(f"bin_dir: {tmp_path / 'bin/prog'} exists and is not a link")
    assert not (tmp_path / "opt").exists()
    (tmp_path / "bin/prog").unlink()

    evil_members = [("evil-1.0.0/../../escaped", PROGRAM, 0o755), ("evil-1.0.0/prog", PROGRAM, 0o755)]
    tarball(www / "evil-1.0.0.tar.gz", evil_members)
    publish(www, "evil-1.0.0.tar.gz")
    evil = run(tmp_path, **install_args(tmp_path, base, "evil-1.0.0.tar.gz", strip_components=1))
    assert evil.get("failed") and "unsafe name" in evil["msg"], evil
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "opt/prog/1.0.0").exists()
