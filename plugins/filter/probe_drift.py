# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""probe_drift: what differs between a host_probe result and what a role manages."""

from __future__ import annotations

DOCUMENTATION = r"""
name: probe_drift
short_description: Compare a host_probe result with the wanted state, on the controller
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Takes the result of M(mlops.stack.host_probe) and a list of wanted states, and returns the keys of those that
    differ, so that a role runs only the tasks that have something to change.
  - "Keys: the path of a file, folder or link; C(user:NAME), C(group:NAME), C(unit:NAME) and C(package:NAME) for the
    others."
  - Anything the probe did not read, or cannot tell, counts as drifted (the task then runs and decides).
positional: wanted
options:
  _input:
    description: The registered result of M(mlops.stack.host_probe).
    type: dict
    required: true
  wanted:
    description:
      - "Each a dict with C(type): C(file) (the default), C(directory), C(link), C(absent),
        C(user), C(group), C(unit) or C(package)."
      - "Files: C(path), and optionally C(content) (text, compared by SHA1), C(checksum) (SHA1),
        C(local_src) (a file on the controller, compared by SHA1), C(owner), C(group),
        C(mode) (octal string or number)."
      - "Folders: C(path), C(owner), C(group), C(mode). Links: C(path), C(src) (the target)."
      - "Users: C(name), and optionally C(group), C(home), C(shell). Groups: C(name)."
      - "Units: C(name), C(enabled) (bool), C(started) (bool: must be active)."
      - "Packages: C(name); installed in any version."
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the unit only when it differs from the template
  ansible.builtin.copy:
    content: "{{ unit_text }}"
    dest: /etc/systemd/system/consul.service
    owner: root
    group: root
    mode: "0644"
  when: >-
    '/etc/systemd/system/consul.service' in probe | mlops.stack.probe_drift([
      {'path': '/etc/systemd/system/consul.service', 'content': unit_text,
       'owner': 'root', 'group': 'root', 'mode': '0644'}])
"""

RETURN = r"""
_value:
  description: The keys of the wanted states that differ, in the order given.
  type: list
  elements: str
"""

import hashlib

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes

FILE_TYPES = ("file", "directory", "link", "absent")
OTHER_TYPES = ("user", "group", "unit", "package")


def _mode(value, where):
    if value is None:
        return None
    if isinstance(value, int):
        return "%04o" % value
    try:
        return "%04o" % int(str(value), 8)
    except ValueError:
        raise AnsibleFilterError("probe_drift: %s: mode %r is not an octal number" % (where, value)) from None


def _sha1_of_local(path):
    digest = hashlib.sha1()  # noqa: S324 - the checksum Ansible's copy module compares with
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(65536), b""):
                digest.update(block)
    except OSError:
        return None  # nothing to compare with (not generated yet): the task decides
    return digest.hexdigest()


def _file_drifts(entry, seen, where):
    kind = entry.get("type", "file")
    if not seen or "exists" not in seen:
        return True  # the probe was not asked about it
    if kind == "absent":
        return seen["exists"]
    if not seen["exists"] or seen.get("type") != kind:
        return True
    for field in ("owner", "group"):
        if entry.get(field) is not None and str(entry[field]) != seen.get(field):
            return True
    wanted_mode = _mode(entry.get("mode"), where)
    if kind != "link" and wanted_mode is not None and wanted_mode != seen.get("mode"):
        return True
    if kind == "link":
        return entry.get("src") is not None and str(entry["src"]) != seen.get("link_target")
    if kind == "file":
        if "content" in entry:
            wanted = hashlib.sha1(to_bytes(entry["content"], errors="surrogate_or_strict")).hexdigest()  # noqa: S324
        elif "checksum" in entry:
            wanted = entry["checksum"]
        elif "local_src" in entry:
            wanted = _sha1_of_local(entry["local_src"])
            if wanted is None:
                return True
        else:
            return False
        return seen.get("checksum") != wanted
    return False


def _user_drifts(entry, seen):
    if not seen or not seen.get("exists"):
        return True
    return any(entry.get(field) is not None and str(entry[field]) != str(seen.get(field))
               for field in ("group", "home", "shell"))


def _unit_drifts(entry, seen):
    if not seen or seen.get("load") != "loaded":
        return True
    if "enabled" in entry and (seen.get("enabled") == "enabled") != bool(entry["enabled"]):
        return True
    return bool(entry.get("started")) and seen.get("active") != "active"


def probe_drift(probe, wanted):
    if not isinstance(probe, dict):
        raise AnsibleFilterError("probe_drift: the input must be a registered host_probe result, not %s"
                                 % type(probe).__name__)
    if not isinstance(wanted, (list, tuple)):
        raise AnsibleFilterError("probe_drift: wanted must be a list of dicts, not %s" % type(wanted).__name__)
    drifted = []
    for index, entry in enumerate(wanted):
        if not isinstance(entry, dict):
            raise AnsibleFilterError("probe_drift: wanted[%d] must be a dict, not %s" % (index, type(entry).__name__))
        kind = entry.get("type", "file")
        if kind in FILE_TYPES:
            if not entry.get("path"):
                raise AnsibleFilterError("probe_drift: wanted[%d] (%s) has no path" % (index, kind))
            key = str(entry["path"])
            drifts = _file_drifts(entry, (probe.get("files") or {}).get(key), "wanted[%d] %s" % (index, key))
        elif kind in OTHER_TYPES:
            if not entry.get("name"):
                raise AnsibleFilterError("probe_drift: wanted[%d] (%s) has no name" % (index, kind))
            key = "%s:%s" % (kind, entry["name"])
            seen = (probe.get(kind + "s") or {}).get(str(entry["name"]))
            if kind == "user":
                drifts = _user_drifts(entry, seen)
            elif kind == "group":
                drifts = not seen or not seen.get("exists")
            elif kind == "package":
                drifts = not seen or seen.get("installed") is not True
            else:
                drifts = _unit_drifts(entry, seen)
        else:
            raise AnsibleFilterError("probe_drift: wanted[%d]: type %r is not one of %s"
                                     % (index, kind, ", ".join(FILE_TYPES + OTHER_TYPES)))
        if drifts:
            drifted.append(key)
    return drifted


class FilterModule:
    def filters(self):
        return {"probe_drift": probe_drift}
