# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What host_probe (on a host) and controller_probe (on the controller) read of a path."""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import stat

TYPES = ((stat.S_ISLNK, "link"), (stat.S_ISDIR, "directory"), (stat.S_ISREG, "file"))


def name_of(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def read_path(path, checksum_max_size):
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # (a path through a file exists no more than a missing one)
        return {"exists": False}
    kind = next((name for test, name in TYPES if test(st.st_mode)), "other")
    info = {
        "exists": True,
        "type": kind,
        "owner": name_of(pwd.getpwuid, st.st_uid),
        "group": name_of(grp.getgrgid, st.st_gid),
        "mode": "%04o" % stat.S_IMODE(st.st_mode),
        "size": st.st_size,
        # The probing user may write there (a folder: create files in it).
        "writable": os.access(path, os.W_OK | (os.X_OK if kind == "directory" else 0)),
    }
    if kind == "link":
        info["link_target"] = os.readlink(path)
    elif kind == "file" and st.st_size <= checksum_max_size:
        digest = hashlib.sha1()  # noqa: S324 - the checksum Ansible's copy module compares with
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(65536), b""):
                digest.update(block)
        info["checksum"] = digest.hexdigest()
    return info


def list_tree(path):
    """Every entry under a folder at any depth (files, folders, links; links not followed), as sorted paths.

    Hidden entries (a name starting with a dot) and what is in them are left out, as ansible.builtin.find does by
    default; a missing folder gives [].
    """
    found = []
    for root, dirs, files in os.walk(path):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        found.extend(os.path.join(root, name) for name in dirs + files if not name.startswith("."))
    return sorted(found)


def parse_os_release(text):
    """os-release(5): the release's ID, VERSION_ID and ID_LIKE (a list); shell-quoted values unquoted."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or key.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        fields[key] = value
    return {"id": fields.get("ID", ""), "version_id": fields.get("VERSION_ID", ""),
            "id_like": fields.get("ID_LIKE", "").split()}


def read_os_release():
    """The host's release, from /etc/os-release (else /usr/lib/os-release); empty fields when neither exists."""
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(path, encoding="utf-8") as handle:
                return parse_os_release(handle.read())
        except OSError:
            continue
    return parse_os_release("")


# What one probe reads, as host_probe records it for the run after (option
# record) and as an earlier probe's reading is matched (option ahead).
SPEC_LISTS = ("paths", "users", "groups", "units", "packages", "trees")
DEFAULT_CHECKSUM_MAX_SIZE = 4194304


def probe_spec(params):
    """The lists a probe reads, each sorted and without repeats, and its checksum limit, from its arguments.

    Sorted: a reading is keyed by name, so the order asked in means nothing, and the roles build their lists
    with filters (union) whose order changes from one run to the next.
    """
    spec = {key: sorted({str(value) for value in (params.get(key) or [])}) for key in SPEC_LISTS}
    size = params.get("checksum_max_size")
    spec["checksum_max_size"] = DEFAULT_CHECKSUM_MAX_SIZE if size is None else int(size)
    return spec


def reusable_reading(ahead, key, spec):
    """An earlier probe's reading of exactly spec, recorded under key; None when there is none to reuse.

    ahead is the registered result of a host_probe run with recorded=true. Its reading is reused only when the
    probe now asked for reads what was read then: the same names in its lists and the same checksum limit.
    """
    if not isinstance(ahead, dict) or ahead.get("failed") or ahead.get("skipped"):
        return None
    recorded = ahead.get("recorded")
    entry = recorded.get(key) if isinstance(recorded, dict) else None
    if not isinstance(entry, dict) or entry.get("spec") != spec or not isinstance(entry.get("result"), dict):
        return None
    return entry["result"]


def recorded_specs(text):
    """The probes a record file holds, by key; {} for a missing, empty or unreadable record (nothing to read)."""
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    probes = data.get("probes") if isinstance(data, dict) else None
    if not isinstance(probes, dict):
        return {}
    specs = {}
    for key, spec in probes.items():
        if isinstance(spec, dict):
            specs[str(key)] = probe_spec(spec)
    return specs


def record_text(specs):
    """The record file's content for these probes (stable: sorted keys, so an unchanged record is not rewritten)."""
    return json.dumps({"version": 1, "probes": specs}, sort_keys=True, indent=1) + "\n"


def split_reading(shared, spec):
    """One probe's part of a reading made for several (host_probe's recorded=true): its paths, users, units..."""
    result = {key: shared[key] for key in ("systemd_running", "machine", "os_release")}
    result["files"] = {path: shared["files"][(path, spec["checksum_max_size"])] for path in spec["paths"]}
    for key in SPEC_LISTS[1:]:  # users, groups, units, packages, trees: read by name
        result[key] = {name: shared[key][name] for name in spec[key]}
    return result
