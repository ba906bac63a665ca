"""Module host_files, run as Ansible runs it (a real process, its arguments in a file) on this machine's files.

The roles' use of it (TLS files, configuration files with their validate commands, hand edits repaired) runs
against real hosts in every Molecule scenario; these tests pin down its own contract.
"""

import grp
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def run(tmp_path, files, check=False, diff=False, directories=()):
    args = {"directories": list(directories), "files": files, "_ansible_check_mode": check, "_ansible_diff": diff}
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".build"))
    done = subprocess.run(
        [sys.executable, "-m", "ansible_collections.mlops.stack.plugins.modules.host_files", str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return json.loads(done.stdout)


def spec(path, content, **over):
    entry = {"path": str(path), "content": content, "owner": USER, "group": GROUP, "mode": "0640"}
    entry.update(over)
    return entry


def mode_of(path):
    return oct(path.stat().st_mode & 0o7777)


def test_writes_what_is_missing_then_nothing(tmp_path):
    target = tmp_path / "agent.key"
    result = run(tmp_path, [spec(target, "secret\n")])
    assert result["changed"] and result["written"] == [str(target)]
    assert target.read_text() == "secret\n" and mode_of(target) == "0o640"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".ansible-host-files-")]
    again = run(tmp_path, [spec(target, "secret\n")])
    assert not again["changed"] and again["changed_paths"] == []


def test_a_mode_read_by_yaml_as_a_number_is_taken_as_octal(tmp_path):
    target = tmp_path / "unit"
    assert run(tmp_path, [spec(target, "x\n", mode=0o640)])["written"] == [str(target)]
    assert mode_of(target) == "0o640"


def test_a_hand_edit_and_a_changed_mode_are_repaired(tmp_path):
    edited, loosened = tmp_path / "nomad.hcl", tmp_path / "ca.crt"
    run(tmp_path, [spec(edited, "a = 1\n"), spec(loosened, "CA\n", mode="0644")])
    edited.write_text("a = 1\n# hand edit\n")
    loosened.chmod(0o666)
    result = run(tmp_path, [spec(edited, "a = 1\n"), spec(loosened, "CA\n", mode="0644")])
    assert result["written"] == [str(edited)]
    assert result["changed_paths"] == [str(edited), str(loosened)]
    assert edited.read_text() == "a = 1\n" and mode_of(loosened) == "0o644"


def test_a_refused_file_is_left_as_it_was_and_the_others_are_written(tmp_path):
    checked, other = tmp_path / "prometheus.yml", tmp_path / "web.yml"
    checked.write_text("good\n")
    result = run(tmp_path, [spec(checked, "bad\n", validate="grep -q good %s"), spec(other, "web\n")])
    assert "failed" not in result
    assert [r["path"] for r in result["refused"]] == [str(checked)]
    assert "failed to validate (rc 1)" in result["refused"][0]["message"]
    assert checked.read_text() == "good\n"
    assert result["written"] == [str(other)] and other.read_text() == "web\n"
    accepted = run(tmp_path, [spec(checked, "still good\n", validate="grep -q good %s")])
    assert accepted["written"] == [str(checked)] and checked.read_text() == "still good\n"


def test_check_mode_changes_nothing_and_shows_the_diff_it_may(tmp_path):
    shown, hidden = tmp_path / "rules.yml", tmp_path / "token"
    shown.write_text("old\n")
    result = run(tmp_path, [spec(shown, "new\n"), spec(hidden, "s3cret\n", diff=False)], check=True, diff=True)
    assert result["changed"] and result["written"] == [str(shown), str(hidden)]
    assert shown.read_text() == "old\n" and not hidden.exists()
    assert result["diff"] == [
        {"before_header": str(shown), "after_header": str(shown), "before": "old\n", "after": "new\n"}
    ]


def test_bad_input_names_the_file_and_writes_nothing(tmp_path):
    first = tmp_path / "first"
    for files, message in (
        ([spec(first, "x"), spec(tmp_path / "second", "y", mode="rw-r--r--")], "files[1] ("),
        ([spec(first, "x"), spec(tmp_path / "second", "y", validate="promtool check config")], "must contain %s"),
        ([spec(first, "x"), spec(tmp_path / "missing" / "f", "y")], "its folder"),
        ([spec(first, "x"), spec(tmp_path, "y")], "a folder is there"),
        ([spec(first, "x", owner="no-such-user-here")], "no user no-such-user-here"),
    ):
        result = run(tmp_path, files)
        assert result["failed"] and message in result["msg"], result
        assert not first.exists()


def test_a_folder_and_the_files_in_it_in_one_run_then_nothing(tmp_path):
    folder = tmp_path / "etc" / "tls"
    directory = {"path": str(folder), "owner": USER, "group": GROUP, "mode": "0750"}
    files = [spec(folder / "ca.crt", "ca\n", mode="0644")]
    checked = run(tmp_path, files, check=True, directories=[directory])
    assert checked["changed"] and checked["changed_paths"] == [str(folder), str(folder / "ca.crt")], checked
    assert not (tmp_path / "etc").exists()

    result = run(tmp_path, files, directories=[directory])
    assert result["changed"] and result["written"] == [str(folder / "ca.crt")], result
    assert mode_of(folder) == "0o750" and (folder / "ca.crt").read_text() == "ca\n"
    assert not run(tmp_path, files, directories=[directory])["changed"]

    folder.chmod(0o777)
    repaired = run(tmp_path, files, directories=[directory])
    assert repaired["changed_paths"] == [str(folder)] and mode_of(folder) == "0o750"

    (tmp_path / "plain").write_text("x\n")
    refused = run(tmp_path, [], directories=[directory, {"path": str(tmp_path / "plain")}])
    assert refused.get("failed") and refused["msg"].startswith("directories[1] (%s)" % (tmp_path / "plain")), refused


def test_a_folder_reached_through_a_link_is_taken_as_the_folder(tmp_path):
    """An operator may keep a data folder on another disk and link it into place; the link stays."""
    disk = tmp_path / "disk" / "nomad"
    disk.mkdir(parents=True)
    disk.chmod(0o750)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "nomad").symlink_to(disk)
    directory = {"path": str(tmp_path / "var" / "nomad"), "owner": USER, "group": GROUP, "mode": "0750"}
    assert not run(tmp_path, [], directories=[directory])["changed"]
    disk.chmod(0o777)
    assert run(tmp_path, [], directories=[directory])["changed"]
    assert mode_of(disk) == "0o750" and (tmp_path / "var" / "nomad").is_symlink()
    (tmp_path / "var" / "gone").symlink_to(tmp_path / "disk" / "gone")
    dangling = run(tmp_path, [], directories=[{"path": str(tmp_path / "var" / "gone")}])
    assert dangling.get("failed"), dangling
    assert dangling["msg"] == f"directories[0] ({tmp_path / 'var' / 'gone'}): a link to nowhere is there"
