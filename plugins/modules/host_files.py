#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_files: write several small files on a host in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: host_files
short_description: Write several small files and their folders, with owners and modes, in one module run
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Creates the folders of O(directories) first, and sets the owner, group and mode of those that differ in them.
  - Writes each file whose content differs (or that is missing) atomically (a temporary file in the same folder,
    then a rename), and sets the owner, group and mode of each file that differs only in those.
  - One module run for all of them, where a C(ansible.builtin.copy) loop costs several round trips per file. The
    roles write a program's CA, certificate and key with it once M(mlops.stack.host_probe) found them missing or
    changed.
  - The content travels in the module's arguments; run it with C(no_log) for secrets (private keys).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  directories:
    description:
      - Folders to create (missing parents too, owned by root, C(0755)) or whose owner, group or mode to set, before
        any file is written; a file of O(files) may go into one of them. A link to a folder is followed.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The folder.
        type: path
        required: true
      owner:
        description: Owner's name.
        type: str
        default: root
      group:
        description: Group's name.
        type: str
        default: root
      mode:
        description: Permissions, as an octal string such as C("0750"), or the number YAML reads from an unquoted mode.
        type: raw
        default: "0755"
  files:
    description: The files to write.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Where the file goes; its folder must exist.
        type: path
        required: true
      content:
        description: The whole content, as text.
        type: str
        required: true
      owner:
        description: Owner's name.
        type: str
        default: root
      group:
        description: Group's name.
        type: str
        default: root
      mode:
        description:
          - Permissions, as an octal string such as C("0640") (quote it in YAML), or as the number YAML reads from an
            unquoted C(0640).
        type: raw
        default: "0644"
      validate:
        description:
          - A command that checks the new content before it replaces the file, C(%s) standing for a temporary copy
            in the same folder (as C(ansible.builtin.copy)'s C(validate)). Not run in check mode.
          - A file the command refuses is not written; it is listed in RV(refused) with what the command said, and
            the module does not fail, so that the files written beside it are still reported.
        type: str
        default: ""
      diff:
        description: Whether a diff of this file may be shown (false for files that hold secrets).
        type: bool
        default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: One diff per file written whose O(files[].diff) is true.
  platform:
    platforms: posix
notes:
  - A path that is a symbolic link is replaced by the file, as C(ansible.builtin.copy) does by default.
  - A written file gets its folder's default SELinux context, like a new file there.
  - In check mode an owner or group that does not exist yet (its user is created earlier in the same run) is
    reported as a change with a warning, not as a failure.
"""

EXAMPLES = r"""
- name: Install the CA and the host's certificate and key
  mlops.stack.host_files:
    files:
      - {path: /etc/consul.d/tls/ca.crt, content: "{{ lookup('ansible.builtin.file', 'ca.crt', rstrip=false) }}",
         group: consul, mode: "0644"}
      - {path: /etc/consul.d/tls/agent.key, content: "{{ lookup('ansible.builtin.file', 'agent.key', rstrip=false) }}",
         group: consul, mode: "0640"}
  no_log: true
"""

RETURN = r"""
written:
  description: The paths whose content was (in check mode, would be) written.
  returned: always
  type: list
  elements: str
  sample: [/etc/consul.d/tls/agent.crt]
refused:
  description: The files a validate command refused (not written), with its message.
  returned: always
  type: list
  elements: dict
  sample: [{path: /etc/prometheus/prometheus.yml, message: "failed to validate: ... not a valid duration string"}]
changed_paths:
  description: Every folder created and path written, or whose owner, group or mode was (would be) set.
  returned: always
  type: list
  elements: str
  sample: [/etc/consul.d/tls/agent.crt, /etc/consul.d/tls/agent.key]
"""

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlops.stack.plugins.module_utils.files import replacing


def mode_bits(value):
    """The permission bits of an octal mode string, or of the number YAML reads from an unquoted octal mode."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o7777:
        return value
    if not isinstance(value, str) or not value or any(c not in "01234567" for c in value) or int(value, 8) > 0o7777:
        raise ValueError("mode must be an octal string such as 0640, got %r" % (value,))
    return int(value, 8)


def read_current(path):
    """(its lstat or None when missing, its bytes when it is a regular file or None)."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    if not stat.S_ISREG(st.st_mode):
        return st, None
    with open(path, "rb") as handle:
        return st, handle.read()


def ids(owner, group):
    """(uid, gid), None where the account does not exist."""
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        uid = None
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        gid = None
    return uid, gid


def plan(st, current, wanted, uid, gid, mode):
    """What one file needs: (write the content, set the attributes)."""
    write = current is None or current != wanted
    if write:
        return True, True
    attrs = uid is None or gid is None or st.st_uid != uid or st.st_gid != gid or stat.S_IMODE(st.st_mode) != mode
    return False, attrs


class Refused(Exception):
    """The validate command's refusal of a file's new content."""


def write_file(module, path, data, uid, gid, mode, validate):
    """Write through a temporary file in the same folder; a validate command's refusal as text, else None."""
    try:
        with replacing(path, mode, prefix=".ansible-host-files-") as temp:
            with open(temp, "wb") as out:
                out.write(data)
            # Owner and mode before the rename: a key is never readable by others, not even for a moment.
            os.chown(temp, uid, gid)
            os.chmod(temp, mode)  # again: a change of owner may clear set-user-ID and set-group-ID bits
            if validate:
                rc, out, err = module.run_command(validate % temp)
                if rc != 0:
                    parts = ("failed to validate (rc %d):" % rc, err.strip(), out.strip())
                    raise Refused(" ".join(part for part in parts if part))
            module.set_default_selinux_context(temp, False)
    except Refused as refusal:
        return str(refusal)
    return None


def checked(module, field, index, spec):
    """(uid, gid, mode) of one entry of field; a bad mode or an account missing on the host fails naming the entry."""
    try:
        mode = mode_bits(spec["mode"])
    except ValueError as err:
        module.fail_json(msg="%s[%d] (%s): %s" % (field, index, spec["path"], err))
    uid, gid = ids(spec["owner"], spec["group"])
    if not module.check_mode and (uid is None or gid is None):
        missing = "user %s" % spec["owner"] if uid is None else "group %s" % spec["group"]
        module.fail_json(msg="%s[%d] (%s): no %s on the host" % (field, index, spec["path"], missing))
    return uid, gid, mode


def main():
    module = AnsibleModule(
        argument_spec={
            "directories": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "path": {"type": "path", "required": True},
                    "owner": {"type": "str", "default": "root"},
                    "group": {"type": "str", "default": "root"},
                    "mode": {"type": "raw", "default": "0755"},
                },
            },
            "files": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "path": {"type": "path", "required": True},
                    "content": {"type": "str", "required": True},
                    "owner": {"type": "str", "default": "root"},
                    "group": {"type": "str", "default": "root"},
                    "mode": {"type": "raw", "default": "0644"},
                    "validate": {"type": "str", "default": ""},
                    "diff": {"type": "bool", "default": True},
                },
            },
        },
        supports_check_mode=True,
    )
    # Every folder and file is checked before any is written: bad input changes nothing.
    folders = []
    for index, spec in enumerate(module.params["directories"]):
        uid, gid, mode = checked(module, "directories", index, spec)
        # Followed through a link, as the file module does: an operator may keep a data folder on another disk.
        try:
            st = os.stat(spec["path"])
        except (FileNotFoundError, NotADirectoryError):
            st = None
        if st is None and os.path.lexists(spec["path"]):
            module.fail_json(msg="directories[%d] (%s): a link to nowhere is there" % (index, spec["path"]))
        if st is not None and not stat.S_ISDIR(st.st_mode):
            module.fail_json(msg="directories[%d] (%s): something other than a folder is there" % (index, spec["path"]))
        folders.append((spec, st, uid, gid, mode))
    coming = {os.path.normpath(folder[0]["path"]) for folder in folders}
    wanted = []
    for index, spec in enumerate(module.params["files"]):
        uid, gid, mode = checked(module, "files", index, spec)
        if spec["validate"] and "%s" not in spec["validate"]:
            module.fail_json(
                msg="files[%d] (%s): validate must contain %%s (the file to check), got %r"
                % (index, spec["path"], spec["validate"])
            )
        folder = os.path.dirname(spec["path"]) or "."
        if not os.path.isdir(folder) and os.path.normpath(folder) not in coming and not module.check_mode:
            module.fail_json(msg="files[%d] (%s): its folder %s does not exist" % (index, spec["path"], folder))
        st, current = read_current(spec["path"])
        if st is not None and stat.S_ISDIR(st.st_mode):
            module.fail_json(msg="files[%d] (%s): a folder is there, not a file" % (index, spec["path"]))
        wanted.append((spec, st, current, spec["content"].encode("utf-8"), uid, gid, mode))

    written, changed_paths, refused, diffs = [], [], [], []
    for spec, st, uid, gid, mode in folders:
        path = spec["path"]
        current = None if st is None else (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
        if current == (uid, gid, mode):
            continue
        if uid is None or gid is None:
            module.warn("%s: owner %s or group %s not there yet (check mode)" % (path, spec["owner"], spec["group"]))
        if not module.check_mode:
            if st is None:
                os.makedirs(os.path.dirname(os.path.normpath(path)), mode=0o755, exist_ok=True)
                os.mkdir(path, 0o700)
            os.chown(path, uid, gid)
            os.chmod(path, mode)
        changed_paths.append(path)
    for spec, st, current, data, uid, gid, mode in wanted:
        path = spec["path"]
        write, attrs = plan(st, current, data, uid, gid, mode)
        if not (write or attrs):
            continue
        if uid is None or gid is None:
            module.warn("%s: owner %s or group %s not there yet (check mode)" % (path, spec["owner"], spec["group"]))
        if write and not module.check_mode:
            message = write_file(module, path, data, uid, gid, mode, spec["validate"])
            if message:
                refused.append({"path": path, "message": message})
                continue
        elif not module.check_mode:
            os.chown(path, uid, gid, follow_symlinks=False)
            os.chmod(path, mode)
        changed_paths.append(path)
        if write:
            written.append(path)
            if module._diff and spec["diff"]:
                diffs.append(
                    {
                        "before_header": path,
                        "after_header": path,
                        "before": (current or b"").decode("utf-8", "replace"),
                        "after": spec["content"],
                    }
                )
    result = {"changed": bool(changed_paths), "written": written, "changed_paths": changed_paths, "refused": refused}
    if diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
