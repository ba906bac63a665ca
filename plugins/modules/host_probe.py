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
  record:
    description:
      - A name for this probe (a role's, such as C(install:consul)). What it reads (the lists above, not what it
        found) is kept on the host in O(record_path) under that name, rewritten only when it changed, so that the
        next run can read every role's part at once with O(recorded).
      - The action plugin leaves it out in check mode, which writes nothing.
      - With O(ahead), the action plugin returns the earlier reading instead of running the module when that
        reading was recorded under this name for exactly these lists.
    type: str
  ahead:
    description:
      - The registered result of an earlier O(recorded) run on this host, in the same playbook run.
      - Pass it only while nothing has been written on the host since that run; the caller decides (the roles
        set C(__mlops_probe_ahead) to C({}) in every step that writes what a probe reads). Handled by the action
        plugin on the controller; never sent to the host.
    type: dict
  recorded:
    description:
      - Also read everything that the probes recorded with O(record) asked for, in the same module run, and
        return each part under RV(recorded). Nothing recorded yet (a new host) reads nothing more.
    type: bool
    default: false
  record_path:
    description: Where the probes' record is kept (root only, mode C(0600)).
    type: path
    default: /var/lib/mlops-stack/host_probe.json
attributes:
  check_mode:
    support: full
    details: It only reads; results are the same in check mode (which also keeps no O(record)).
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - It reads what it manages and never reports C(changed). Its only write is its own O(record) of what to read.
  - A reused reading (O(ahead)) is the host's state when that run read it; the roles pass it only until
    something is written on the host, and read again after.
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
recorded:
  description:
    - With O(recorded), per name given to O(record) on an earlier run, what that probe asked for (C(spec)) and
      its part of this reading (C(result), shaped as this module's own result).
  returned: when O(recorded) is true
  type: dict
  sample: {"install:consul": {spec: {paths: [/etc/consul.d/consul.hcl], users: [consul], groups: [consul],
                                     units: [consul], packages: [], trees: [], checksum_max_size: 4194304},
                              result: {files: {}, users: {}, groups: {}, units: {}, packages: {}, trees: {}}}}
reused:
  description: True when the action plugin returned the O(ahead) reading and no module ran.
  returned: when O(ahead) was reused
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
from ansible_collections.mlops.stack.plugins.module_utils.files import read_bytes, write_bytes
from ansible_collections.mlops.stack.plugins.module_utils.probe import (
    DEFAULT_CHECKSUM_MAX_SIZE,
    list_tree,
    name_of,
    probe_spec,
    read_os_release,
    read_path,
    record_text,
    recorded_specs,
    split_reading,
)

# Where a probe with record keeps what it read, for the next run's one look (recorded).
RECORD_PATH = "/var/lib/mlops-stack/host_probe.json"


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


def read_units(module, names, systemd_running):
    # Without a running systemd (image builds) nothing is known of the units:
    # their tasks then run as they always would.
    if not names:
        return {}
    systemctl = module.get_bin_path("systemctl")
    if systemctl and systemd_running:
        cmd = [systemctl, "show", "--property=Id,LoadState,ActiveState,UnitFileState", "--"]
        rc, out, err = module.run_command(cmd + [unit_name(n) for n in names])
        if rc != 0:
            module.fail_json(msg="systemctl show failed: %s" % (err.strip() or out.strip()), rc=rc)
        return parse_systemctl_show(out, names)
    unknown = {"load": "unknown", "active": "unknown", "enabled": "unknown"}
    return {name: dict(unknown) for name in names}


def unique(values):
    return list(dict.fromkeys(values))


def read_all(module, specs):
    """One reading for several probes: each path, account, unit, package and folder once.

    The recorded lists are this module's own arguments as it received them (paths already expanded).
    """
    systemd_running = os.path.isdir("/run/systemd/system")
    specs = list(specs)
    files = {}
    for spec in specs:
        for path in spec["paths"]:
            if (path, spec["checksum_max_size"]) not in files:
                files[(path, spec["checksum_max_size"])] = read_path(path, spec["checksum_max_size"])
    users = unique(name for spec in specs for name in spec["users"])
    groups = unique(name for spec in specs for name in spec["groups"])
    units = unique(name for spec in specs for name in spec["units"])
    packages = unique(name for spec in specs for name in spec["packages"])
    trees = unique(path for spec in specs for path in spec["trees"])
    return {
        "files": files,
        "users": {name: read_user(name) for name in users},
        "groups": {name: read_group(name) for name in groups},
        "units": read_units(module, units, systemd_running),
        "packages": read_packages(module, packages) if packages else {},
        "trees": {path: list_tree(path) for path in trees},
        "systemd_running": systemd_running,
        "machine": os.uname().machine,
        "os_release": read_os_release(),
    }


def read_record(path):
    data = read_bytes(path)
    return recorded_specs(data.decode("utf-8", "replace") if data is not None else "")


def save_record(path, key, spec):
    """Keep this probe's spec for the next run's recorded=true look; rewritten only when it changed."""
    specs = read_record(path)
    if specs.get(key) == spec:
        return
    specs[key] = spec
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700)
    write_bytes(path, record_text(specs).encode("utf-8"), 0o600)


def main():
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "default": []},
            "checksum_max_size": {"type": "int", "default": DEFAULT_CHECKSUM_MAX_SIZE},
            "users": {"type": "list", "elements": "str", "default": []},
            "groups": {"type": "list", "elements": "str", "default": []},
            "units": {"type": "list", "elements": "str", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
            "trees": {"type": "list", "elements": "path", "default": []},
            "record": {"type": "str"},
            # The action plugin's (it never reaches the host).
            "ahead": {"type": "dict"},
            "recorded": {"type": "bool", "default": False},
            "record_path": {"type": "path", "default": RECORD_PATH},
        },
        mutually_exclusive=[["record", "recorded"], ["ahead", "recorded"]],
        supports_check_mode=True,
    )
    params = module.params
    if params["recorded"]:
        own, specs = probe_spec(params), read_record(params["record_path"])
        shared = read_all(module, [own, *specs.values()])
        result = split_reading(shared, own)
        result["recorded"] = {key: {"spec": spec, "result": split_reading(shared, spec)} for key, spec in specs.items()}
        module.exit_json(changed=False, **result)
    spec = probe_spec(params)
    result = split_reading(read_all(module, [spec]), spec)
    # The record is host_probe's own note of what to read, never of what it found: not a managed file, so
    # keeping it reports no change (the action plugin never passes it in check mode).
    if params["record"]:
        try:
            save_record(params["record_path"], params["record"], spec)
        except OSError as error:  # a probe that may not write there still reads; the next run looks itself
            result["record_error"] = "%s: %s" % (params["record_path"], error.strerror or error)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
