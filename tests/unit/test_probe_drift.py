"""The probe's comparison logic (filter probe_drift) and the module's parsing of systemctl's output.

Pure logic: the probe itself runs against real hosts in every Molecule scenario, and the platform
scenario's side effect shows a hand edit and a removed link found and repaired.
"""

import hashlib
import os
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build"))  # ansible_collections/mlops/stack -> the checkout

from ansible_collections.mlops.stack.plugins.filter.probe_drift import probe_drift  # noqa: E402
from ansible_collections.mlops.stack.plugins.modules import host_probe  # noqa: E402

UNIT = "/etc/systemd/system/nomad.service"
TEXT = "[Unit]\nDescription=Nomad\n"
SHA = hashlib.sha1(TEXT.encode()).hexdigest()  # noqa: S324


def seen_file(**over):
    info = {"exists": True, "type": "file", "owner": "root", "group": "root", "mode": "0644", "checksum": SHA}
    info.update(over)
    return info


def probe(files=None, users=None, groups=None, units=None):
    return {"files": files or {}, "users": users or {}, "groups": groups or {}, "units": units or {}}


def wanted_unit_file(**over):
    entry = {"path": UNIT, "content": TEXT, "owner": "root", "group": "root", "mode": "0644"}
    entry.update(over)
    return entry


# ----- files -------------------------------------------------------------------------------------------------
def test_an_unchanged_file_does_not_drift():
    assert probe_drift(probe({UNIT: seen_file()}), [wanted_unit_file()]) == []


@pytest.mark.parametrize("seen", [
    {"exists": False},
    seen_file(checksum=hashlib.sha1(b"edited by hand").hexdigest()),  # noqa: S324
    seen_file(owner="nomad"),
    seen_file(group="nomad"),
    seen_file(mode="0666"),
    seen_file(type="directory"),
    seen_file(type="link", link_target="/srv/elsewhere"),
], ids=["missing", "edited", "owner", "group", "mode", "a-folder", "a-link"])
def test_a_file_that_differs_in_any_way_drifts(seen):
    assert probe_drift(probe({UNIT: seen}), [wanted_unit_file()]) == [UNIT]


def test_a_path_the_probe_was_not_asked_about_drifts():
    assert probe_drift(probe(), [wanted_unit_file()]) == [UNIT]


@pytest.mark.parametrize("mode", ["0644", "644", 0o644, "0o644"[2:]])
def test_modes_compare_as_numbers(mode):
    assert probe_drift(probe({UNIT: seen_file()}), [wanted_unit_file(mode=mode)]) == []


def test_a_symbolic_mode_is_refused_naming_the_path():
    with pytest.raises(AnsibleFilterError, match=r"wanted\[0\] /etc/systemd/system/nomad.service: mode 'u=rw'"):
        probe_drift(probe({UNIT: seen_file()}), [wanted_unit_file(mode="u=rw")])


def test_checksum_and_local_source_compare_by_sha1(tmp_path):
    local = tmp_path / "ca.crt"
    local.write_bytes(TEXT.encode())
    entries = [{"path": UNIT, "checksum": SHA}, {"path": UNIT, "local_src": str(local)}]
    assert probe_drift(probe({UNIT: seen_file()}), entries) == []
    local.write_bytes(b"a new CA")
    assert probe_drift(probe({UNIT: seen_file()}), entries[1:]) == [UNIT]


def test_a_local_source_not_generated_yet_counts_as_drift(tmp_path):
    entry = {"path": UNIT, "local_src": str(tmp_path / "missing.crt")}
    assert probe_drift(probe({UNIT: seen_file()}), [entry]) == [UNIT]


def test_a_file_too_large_to_checksum_is_compared_by_type_only():
    binary = "/opt/mlops/nomad/1.11.3/nomad"
    seen = {binary: {"exists": True, "type": "file", "owner": "root", "group": "root", "mode": "0755"}}
    assert probe_drift(probe(seen), [{"path": binary, "type": "file"}]) == []
    assert probe_drift(probe({binary: {"exists": False}}), [{"path": binary, "type": "file"}]) == [binary]


def test_links_compare_their_target_not_their_mode():
    link = "/usr/local/bin/nomad"
    target = "/opt/mlops/nomad/1.11.3/nomad"
    seen = {link: {"exists": True, "type": "link", "owner": "root", "group": "root", "mode": "0777",
                   "link_target": target}}
    assert probe_drift(probe(seen), [{"path": link, "type": "link", "src": target, "mode": "0755"}]) == []
    older = "/opt/mlops/nomad/1.11.2/nomad"
    assert probe_drift(probe(seen), [{"path": link, "type": "link", "src": older}]) == [link]
    assert probe_drift(probe({link: {"exists": False}}), [{"path": link, "type": "link", "src": target}]) == [link]


def test_folders_and_absent_paths():
    folder = {"exists": True, "type": "directory", "owner": "consul", "group": "consul", "mode": "0750"}
    wanted = {"path": "/opt/consul", "type": "directory", "owner": "consul", "group": "consul", "mode": "0750"}
    assert probe_drift(probe({"/opt/consul": folder}), [wanted]) == []
    assert probe_drift(probe({"/opt/consul": dict(folder, mode="0755")}), [wanted]) == ["/opt/consul"]
    gone = {"path": "/opt/consul", "type": "absent"}
    assert probe_drift(probe({"/opt/consul": folder}), [gone]) == ["/opt/consul"]
    assert probe_drift(probe({"/opt/consul": {"exists": False}}), [gone]) == []


def test_only_what_differs_is_returned_in_the_order_given():
    other = "/etc/nomad.d/nomad.hcl"
    files = {UNIT: seen_file(), other: {"exists": False}}
    wanted = [{"path": other, "content": "x"}, wanted_unit_file()]
    assert probe_drift(probe(files), wanted) == [other]


# ----- users, groups, units ----------------------------------------------------------------------------------
def test_users_and_groups():
    user = {"exists": True, "uid": 998, "gid": 998, "group": "nomad", "home": "/opt/nomad",
            "shell": "/usr/sbin/nologin"}
    wanted = [{"type": "user", "name": "nomad", "group": "nomad", "home": "/opt/nomad", "shell": "/usr/sbin/nologin"},
              {"type": "group", "name": "nomad"}]
    found = probe(users={"nomad": user}, groups={"nomad": {"exists": True, "gid": 998}})
    assert probe_drift(found, wanted) == []
    moved = probe(users={"nomad": dict(user, home="/home/nomad")}, groups={"nomad": {"exists": False}})
    assert probe_drift(moved, wanted) == ["user:nomad", "group:nomad"]


@pytest.mark.parametrize(("state", "drifts"), [
    ({"load": "loaded", "active": "active", "enabled": "enabled"}, False),
    ({"load": "loaded", "active": "failed", "enabled": "enabled"}, True),
    ({"load": "loaded", "active": "active", "enabled": "disabled"}, True),
    ({"load": "not-found", "active": "inactive", "enabled": ""}, True),
    ({"load": "unknown", "active": "unknown", "enabled": "unknown"}, True),  # no running systemd
])
def test_units_must_be_loaded_enabled_and_running(state, drifts):
    wanted = [{"type": "unit", "name": "nomad", "enabled": True, "started": True}]
    assert probe_drift(probe(units={"nomad": state}), wanted) == (["unit:nomad"] if drifts else [])


def test_a_unit_wanted_disabled_and_not_started():
    wanted = [{"type": "unit", "name": "nomad", "enabled": False, "started": False}]
    state = {"load": "loaded", "active": "inactive", "enabled": "disabled"}
    assert probe_drift(probe(units={"nomad": state}), wanted) == []


@pytest.mark.parametrize(("probe_result", "wanted", "message"), [
    ("not a dict", [], "must be a registered host_probe result"),
    ({}, "x", "wanted must be a list"),
    ({}, ["x"], r"wanted\[0\] must be a dict"),
    ({}, [{"type": "file"}], r"wanted\[0\] \(file\) has no path"),
    ({}, [{"type": "user"}], r"wanted\[0\] \(user\) has no name"),
    ({}, [{"type": "socket", "path": "/x"}], "type 'socket' is not one of"),
])
def test_bad_input_names_the_entry(probe_result, wanted, message):
    with pytest.raises(AnsibleFilterError, match=message):
        probe_drift(probe_result, wanted)


# ----- the module's parsing ----------------------------------------------------------------------------------
def test_systemctl_show_blocks_are_matched_by_id():
    out = ("Id=nomad.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n\n"
           "Id=docker.socket\nLoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\n\n"
           "Id=gone.service\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\n")
    units = host_probe.parse_systemctl_show(out, ["docker.socket", "nomad", "gone", "never-shown"])
    assert units == {
        "docker.socket": {"load": "loaded", "active": "inactive", "enabled": "disabled"},
        "nomad": {"load": "loaded", "active": "active", "enabled": "enabled"},
        "gone": {"load": "not-found", "active": "inactive", "enabled": ""},
        "never-shown": {"load": "not-found", "active": "inactive", "enabled": ""},
    }


def test_read_path_reports_files_links_and_folders(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"data")
    (tmp_path / "l").symlink_to(target)
    info = host_probe.read_path(str(target), 4096)
    assert info["type"] == "file" and info["checksum"] == hashlib.sha1(b"data").hexdigest()  # noqa: S324
    assert "checksum" not in host_probe.read_path(str(target), 2)  # larger than the limit: stat only
    assert host_probe.read_path(str(tmp_path / "l"), 4096)["link_target"] == str(target)
    assert host_probe.read_path(str(tmp_path), 4096)["type"] == "directory"
    assert host_probe.read_path(str(tmp_path / "missing"), 4096) == {"exists": False}
    assert host_probe.read_path(str(target / "below"), 4096) == {"exists": False}  # through a file


def test_read_path_says_whether_this_user_may_write(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    assert host_probe.read_path(str(folder), 4096)["writable"] is True
    folder.chmod(0o500)
    try:
        # root may write anywhere: only an unprivileged user sees the mode refuse it.
        assert host_probe.read_path(str(folder), 4096)["writable"] is (os.geteuid() == 0)
    finally:
        folder.chmod(0o700)


def test_dpkg_query_output_counts_only_fully_installed_packages():
    out = ("docker.io\tinstall ok installed\t26.1.5+dfsg1-9+b9\n"
           "python3-requests:all\tinstall ok installed\t2.32.3+dfsg-1\n"
           "docker-cli\tdeinstall ok config-files\t26.1.5+dfsg1-9+b9\n"
           "containerd\tinstall ok half-configured\t1.7.24~ds1-6\n")
    packages = host_probe.parse_dpkg_query(out, ["docker.io", "python3-requests", "docker-cli", "containerd", "runc"])
    assert packages == {
        "docker.io": {"installed": True, "version": "26.1.5+dfsg1-9+b9"},
        "python3-requests": {"installed": True, "version": "2.32.3+dfsg-1"},
        "docker-cli": {"installed": False},  # removed, its configuration kept
        "containerd": {"installed": False},  # an interrupted install
        "runc": {"installed": False},  # dpkg never heard of it
    }


@pytest.mark.parametrize(("seen", "drifts"), [
    ({"installed": True, "version": "1"}, False),
    ({"installed": False}, True),
    ({"installed": "unknown"}, True),  # no dpkg-query on the host: the install task decides
    (None, True),  # not asked about
])
def test_packages_drift_unless_installed(seen, drifts):
    result = {"packages": {"docker.io": seen} if seen is not None else {}}
    assert probe_drift(result, [{"type": "package", "name": "docker.io"}]) == (["package:docker.io"] if drifts else [])


def test_controller_probe_reads_the_controllers_paths_like_host_probe(tmp_path, lookup_plugin):
    lookup = lookup_plugin("controller_probe")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    (private / "token").write_text("secret")
    missing = tmp_path / "missing"
    [probe] = lookup.run([str(private), str(shared), str(missing), str(private / "token")])
    files = probe["files"]
    assert files[str(private)]["type"] == "directory" and files[str(private)]["mode"] == "0700"
    assert files[str(missing)] == {"exists": False}
    assert files[str(private / "token")]["checksum"] == "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"  # sha1("secret")
    wanted = [{"path": str(path), "type": "directory", "mode": "0700"} for path in (private, shared, missing)]
    # Only the folder open to others and the missing one are to be (re)created.
    assert probe_drift(probe, wanted) == [str(shared), str(missing)]
