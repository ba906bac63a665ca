#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_probe: what a role manages on a host, read in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: host_probe
short_description: Read the state of many files, users, groups and systemd units in one module run
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Reads, without changing anything, the type, owner, group, mode, link target and SHA1 checksum of each path,
    the accounts of users and groups, the states of systemd units and the installed versions of packages, in a
    single module run, with the host's release (C(/etc/os-release)).
  - The roles compare the result on the controller with what they manage
    (filter M(mlops.stack.host_probe) results with C(mlops.stack.probe_drift)) and run only the tasks whose
    files, users or units differ. An unchanged host then costs one round trip instead of several per file,
    while a hand edit, a removed file or link, or a changed owner or mode is still found and repaired.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  paths:
    description:
      - Paths to read with C(lstat) (links are not followed).
      - Regular files no larger than O(checksum_max_size) get a SHA1 checksum.
    type: list
    elements: path
    default: []
  checksum_max_size:
    description: Largest file, in bytes, whose checksum is computed (release binaries are only stat'ed).
    type: int
    default: 4194304
  users:
    description: User names to look up in the account database.
    type: list
    elements: str
    default: []
  groups:
    description: Group names to look up in the account database.
    type: list
    elements: str
    default: []
  units:
    description: systemd units to read (C(.service) is added to a bare name).
    type: list
    elements: str
    default: []
  packages:
    description:
      - Debian packages whose installed version to read (C(dpkg-query)).
      - On a host without C(dpkg-query) every package is reported C(unknown), so that the caller's install task runs
        and decides.
    type: list
    elements: str
    default: []
  trees:
    description:
      - Folders whose every entry (files, folders and links, at any depth; links are not followed) to list.
      - Hidden entries (names starting with a dot) are left out, as C(ansible.builtin.find) does by default.
      - What a role compares with the files it manages, to remove those it no longer wants without a C(find) run.
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
    details: It only reads; results are the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Read-only; it never reports C(changed).
"""

EXAMPLES = r"""
- name: Look at the files and the unit of consul
  mlops.stack.host_probe:
    paths: [/etc/consul.d/consul.hcl, /usr/local/bin/consul]
    users: [consul]
    units: [consul]
  register: probe

- name: Write the configuration only when it differs
  ansible.builtin.copy:
    content: "{{ config }}"
    dest: /etc/consul.d/consul.hcl
    owner: root
    group: consul
    mode: "0640"
  when: "'/etc/consul.d/consul.hcl' in probe | mlops.stack.probe_drift(expected)"
"""

RETURN = r"""
files:
  description:
    - Per path; C(exists) false when it is missing (or a path through a file).
    - C(writable) says whether the probing user may write it (a folder, create files in it).
  returned: always
  type: dict
  sample:
    /etc/consul.d/consul.hcl: {exists: true, type: file, owner: root, group: consul, mode: "0640",
                               size: 512, writable: true, checksum: 3c2f0e1b6b8c9ad0f1f2a8c2a9b7f1c8d2e3f4a5}
    /usr/local/bin/consul: {exists: true, type: link, owner: root, group: root, mode: "0777",
                            size: 29, writable: true, link_target: /opt/mlops/consul/1.22.7/consul}
users:
  description: Per user name; C(exists) false when there is no such account.
  returned: always
  type: dict
  sample: {consul: {exists: true, uid: 998, gid: 998, group: consul, home: /opt/consul, shell: /usr/sbin/nologin}}
groups:
  description: Per group name.
  returned: always
  type: dict
  sample: {consul: {exists: true, gid: 998}}
units:
  description: Per unit as given; the states systemd reports (C(LoadState), C(ActiveState), C(UnitFileState)).
  returned: always
  type: dict
  sample: {consul: {load: loaded, active: active, enabled: enabled}}
packages:
  description: Per package name; C(installed) is true, false or C(unknown), with C(version) when installed.
  returned: always
  type: dict
  sample: {docker.io: {installed: true, version: 26.1.5+dfsg1-9+b9}, docker-cli: {installed: false}}
trees:
  description: Per folder asked for, its entries' paths at any depth, sorted; an empty list when it is missing.
  returned: always
  type: dict
  sample: {/etc/prometheus/rules: [/etc/prometheus/rules/mlops-stack.yml]}
systemd_running:
  description: Whether systemd runs as the service manager (it does not during image builds).
  returned: always
  type: bool
machine:
  description: The host's machine hardware name (C(uname -m)), for choosing a release archive without gathering facts.
  returned: always
  type: str
  sample: x86_64
os_release:
  description:
    - The host's release from C(/etc/os-release) (else C(/usr/lib/os-release)), for choosing what a role installs
      without gathering facts; empty strings and list when neither file exists.
  returned: always
  type: dict
  sample: {id: debian, version_id: "13", id_like: []}
"""

import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlops.stack.plugins.module_utils.probe import list_tree, name_of, read_os_release, read_path


def read_user(name):
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return {"exists": False}
    return {"exists": True, "uid": entry.pw_uid, "gid": entry.pw_gid, "group": name_of(grp.getgrgid, entry.pw_gid),
            "home": entry.pw_dir, "shell": entry.pw_shell}


def read_group(name):
    try:
        entry = grp.getgrnam(name)
    except KeyError:
        return {"exists": False}
    return {"exists": True, "gid": entry.gr_gid}


def unit_name(name):
    return name if "." in name else name + ".service"


def parse_systemctl_show(text, names):
    """Blocks of Key=Value lines, one per unit in the order asked, separated by blank lines."""
    blocks, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, _sep, value = line.partition("=")
        current[key] = value
    if current:
        blocks.append(current)
    by_id = {block.get("Id"): block for block in blocks}
    units = {}
    for name in names:
        block = by_id.get(unit_name(name), {})
        units[name] = {"load": block.get("LoadState", "not-found"), "active": block.get("ActiveState", "inactive"),
                       "enabled": block.get("UnitFileState", "")}
    return units


def parse_dpkg_query(text, names):
    """Lines of package, status and version; installed only when dpkg says 'install ok installed'."""
    found = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 3:
            continue
        name, status, version = fields
        # Multi-arch packages come back as name:arch.
        if status.split() == ["install", "ok", "installed"]:
            found[name.split(":", 1)[0]] = version
    packages = {}
    for name in names:
        version = found.get(name.split(":", 1)[0])
        packages[name] = {"installed": True, "version": version} if version is not None else {"installed": False}
    return packages


def read_packages(module, names):
    dpkg_query = module.get_bin_path("dpkg-query")
    if not dpkg_query:
        return {name: {"installed": "unknown"} for name in names}
    # Exit status 1 only says that some name is not known to dpkg.
    rc, out, err = module.run_command([dpkg_query, "-W", "-f=${Package}\t${Status}\t${Version}\n", "--", *names])
    if rc not in (0, 1):
        module.fail_json(msg="dpkg-query failed: %s" % (err.strip() or out.strip()), rc=rc)
    return parse_dpkg_query(out, names)


def main():
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "default": []},
            "checksum_max_size": {"type": "int", "default": 4194304},
            "users": {"type": "list", "elements": "str", "default": []},
            "groups": {"type": "list", "elements": "str", "default": []},
            "units": {"type": "list", "elements": "str", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
            "trees": {"type": "list", "elements": "path", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    result = {
        "changed": False,
        "files": {path: read_path(path, params["checksum_max_size"]) for path in params["paths"]},
        "users": {name: read_user(name) for name in params["users"]},
        "groups": {name: read_group(name) for name in params["groups"]},
        "units": {},
        "packages": read_packages(module, params["packages"]) if params["packages"] else {},
        "trees": {path: list_tree(path) for path in params["trees"]},
        "systemd_running": os.path.isdir("/run/systemd/system"),
        "machine": os.uname().machine,
        "os_release": read_os_release(),
    }
    # Without a running systemd (image builds) nothing is known of the units:
    # their tasks then run as they always would.
    if params["units"]:
        systemctl = module.get_bin_path("systemctl")
        if systemctl and result["systemd_running"]:
            cmd = [systemctl, "show", "--property=Id,LoadState,ActiveState,UnitFileState", "--"]
            rc, out, err = module.run_command(cmd + [unit_name(n) for n in params["units"]])
            if rc != 0:
                module.fail_json(msg="systemctl show failed: %s" % (err.strip() or out.strip()), rc=rc, **result)
            result["units"] = parse_systemctl_show(out, params["units"])
        else:
            unknown = {"load": "unknown", "active": "unknown", "enabled": "unknown"}
            result["units"] = {name: dict(unknown) for name in params["units"]}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
