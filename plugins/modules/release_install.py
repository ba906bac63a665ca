#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""release_install: download, verify, unpack and link a release archive in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: release_install
short_description: Install a release archive (SHA256 verified) into a version folder and link its binaries, in one run
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - The install step of every role of the collection, in one module run instead of one per step (version folder,
    download, unpack, modes, links, install record).
  - Creates O(dest) and the folder of O(archive_path) (root, C(0755)). When a binary of O(binaries) is missing
    there, gets the archive (the copy kept at O(archive_path) when its SHA256 matches, else downloaded beside it and
    checked against the archive's line in O(checksum_url)) and unpacks it into O(dest) with the host's Python (no
    C(unzip) or C(tar) package needed).
  - Makes each binary executable and links it into O(bin_dir) by its base name; writes O(state_content) to
    O(state_file) when it differs.
  - A checksum that does not match fails naming the archive, its address and both hashes. Nothing is linked then, and
    a version folder not in use is removed, so the running version is untouched.
  - A path in O(bin_dir) that exists and is not a symbolic link is refused before anything is written.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  url:
    description: Address of the release archive (C(.zip), C(.tar.gz) or C(.tgz)).
    type: str
    required: true
  checksum_url:
    description: Address of the checksum file that lists the archive's SHA256 (C(<sha256>  <file name>) lines).
    type: str
    required: true
  archive_path:
    description: Where the archive is kept on the host, so that a rollback to this version needs no download.
    type: path
    required: true
  dest:
    description: The version folder the archive is unpacked into.
    type: path
    required: true
  strip_components:
    description: Leading folders stripped from the names in a tar archive (as C(tar --strip-components)).
    type: int
    default: 0
  binaries:
    description: Paths of the binaries inside O(dest) (after stripping).
    type: list
    elements: str
    required: true
  bin_dir:
    description: The folder that gets a link to each binary, by its base name.
    type: path
    default: /usr/local/bin
  state_file:
    description: A record of the install's parameters, written (root, C(0644)) when it differs from O(state_content).
    type: path
  state_content:
    description: What O(state_file) must hold.
    type: str
  owe_path:
    description:
      - A file written with O(owe_content) just before the first link changes, so that a run that stops afterwards
        still restarts the service next time (the roles' record of a restart owed).
    type: path
  owe_content:
    description: What O(owe_path) holds.
    type: str
    default: ""
  timeout:
    description: Seconds each download may wait for the server.
    type: int
    default: 30
  validate_certs:
    description: Verify the server's TLS certificate (HTTPS addresses).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Files are unpacked owned by root, with the archive's permission bits masked by C(0755) and never set-user-ID.
  - Names in the archive that are absolute or climb out of O(dest) are refused.
"""

EXAMPLES = r"""
- name: Install Consul 1.22.7
  mlops.stack.release_install:
    url: https://releases.hashicorp.com/consul/1.22.7/consul_1.22.7_linux_amd64.zip
    checksum_url: https://releases.hashicorp.com/consul/1.22.7/consul_1.22.7_SHA256SUMS
    archive_path: /opt/mlops/consul/consul_1.22.7_linux_amd64.zip
    dest: /opt/mlops/consul/1.22.7
    binaries: [consul]
  register: consul_install
"""

RETURN = r"""
downloaded:
  description: Whether the archive was (would be) downloaded.
  returned: always
  type: bool
unpacked:
  description: Whether the archive was (would be) unpacked.
  returned: always
  type: bool
links_changed:
  description: The links in O(bin_dir) that were (would be) created or re-pointed; the service runs new binaries.
  returned: always
  type: list
  elements: str
  sample: [/usr/local/bin/consul]
state_written:
  description: Whether O(state_file) was (would be) written.
  returned: always
  type: bool
"""

import hashlib
import os
import posixpath
import shutil
import stat
import tarfile
import zipfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.mlops.stack.plugins.module_utils.files import read_bytes, replacing, write_bytes

CHUNK = 1 << 20


def expected_sha256(text, name):
    """The SHA256 a checksum file lists for name; a file with one bare hash counts for any name. None if absent."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        digest = fields[0].lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            continue
        listed = fields[1].lstrip("*") if len(fields) > 1 else None
        if listed is not None and posixpath.basename(listed) == name:
            return digest
        entries.append((digest, listed))
    if len(entries) == 1 and entries[0][1] is None:
        return entries[0][0]
    return None


def member_path(name, strip):
    """The member's path inside the destination after stripping, None when nothing is left; ValueError if unsafe."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts:
        raise ValueError("the archive holds an unsafe name: %r" % name)
    parts = parts[strip:]
    return "/".join(parts) if parts else None


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def write_member(source, target, mode):
    """Copy one member's bytes to target (replaced), mode masked by 0755."""
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    if os.path.lexists(target) and not os.path.isfile(target):
        raise ValueError("%s is in the way of a file from the archive" % target)
    with open(target + ".part", "wb") as out:
        shutil.copyfileobj(source, out, CHUNK)
    os.chmod(target + ".part", mode & 0o755)
    os.replace(target + ".part", target)


def unpack(archive, dest, strip):
    """Unpack a .zip, .tar.gz or .tgz archive into dest; the paths written."""
    written = []
    if archive.endswith(".zip"):
        with zipfile.ZipFile(archive) as bundle:
            for info in bundle.infolist():
                relative = member_path(info.filename, 0)
                if relative is None:
                    continue
                target = os.path.join(dest, relative)
                if info.is_dir():
                    os.makedirs(target, mode=0o755, exist_ok=True)
                    continue
                mode = (info.external_attr >> 16) & 0o777 or 0o644
                with bundle.open(info) as source:
                    write_member(source, target, mode)
                written.append(target)
        return written
    with tarfile.open(archive, "r:gz") as bundle:
        for member in bundle:
            relative = member_path(member.name, strip)
            if relative is None:
                continue
            target = os.path.join(dest, relative)
            if member.isdir():
                os.makedirs(target, mode=0o755, exist_ok=True)
            elif member.isfile():
                write_member(bundle.extractfile(member), target, member.mode)
                written.append(target)
            elif member.issym():
                link = posixpath.normpath(posixpath.join(posixpath.dirname(relative), member.linkname))
                if member.linkname.startswith("/") or link.startswith(".."):
                    raise ValueError("the archive holds a link out of its folder: %r" % member.name)
                if os.path.lexists(target):
                    os.unlink(target)
                os.symlink(member.linkname, target)
            # Devices, fifos and hard links are not part of a release: skipped.
    return written


class Installer:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.archive = posixpath.basename(self.params["url"].split("?", 1)[0])

    def fail(self, message, **extra):
        self.module.fail_json(msg=message, **extra)

    def fetch(self, url):
        """A response to read from, or a failure naming the address."""
        response, info = fetch_url(self.module, url, timeout=self.params["timeout"])
        if info.get("status") != 200 or response is None:
            raise OSError("%s answered %s: %s" % (url, info.get("status"), info.get("msg", "")))
        return response

    def expected(self):
        text = self.fetch(self.params["checksum_url"]).read().decode(errors="replace")
        digest = expected_sha256(text, self.archive)
        if digest is None:
            raise OSError("%s lists no SHA256 for %s" % (self.params["checksum_url"], self.archive))
        return digest

    def download(self, expected):
        """The archive at archive_path, its SHA256 checked; downloaded only when the kept copy does not match."""
        path = self.params["archive_path"]
        if os.path.isfile(path) and sha256_of(path) == expected:
            return False
        with replacing(path, 0o644, prefix=".release-install-") as temp:
            digest = hashlib.sha256()
            response = self.fetch(self.params["url"])
            with open(temp, "wb") as out:
                for block in iter(lambda: response.read(CHUNK), b""):
                    digest.update(block)
                    out.write(block)
            if digest.hexdigest() != expected:
                raise ChecksumMismatch(expected, digest.hexdigest())
        return True

    def link_pairs(self):
        """(link in bin_dir, binary in dest) for each binary."""
        for binary in self.params["binaries"]:
            link = os.path.join(self.params["bin_dir"], posixpath.basename(binary))
            yield link, os.path.join(self.params["dest"], binary)

    def links(self):
        """(link, target) for each binary whose link differs; a path in the way fails before any write."""
        differ = []
        for link, target in self.link_pairs():
            if os.path.islink(link):
                if os.readlink(link) != target:
                    differ.append((link, target))
            elif os.path.lexists(link):
                self.fail("bin_dir: %s exists and is not a link; move it away so that %s can be linked there"
                          % (link, target))  # fmt: skip
            else:
                differ.append((link, target))
        return differ

    def in_use(self):
        """Whether a link in bin_dir points into dest (the running version)."""
        inside = self.params["dest"].rstrip("/") + "/"
        return any(os.path.islink(pair[0]) and os.readlink(pair[0]).startswith(inside) for pair in self.link_pairs())

    def run(self):
        params, check = self.params, self.module.check_mode
        # The archive's folder is created with the version folder; the records' folders must exist by then.
        folders = {os.path.dirname(params["archive_path"]), os.path.dirname(params["dest"].rstrip("/"))}
        for field in ("state_file", "owe_path"):
            folder = os.path.dirname(params[field] or "")
            if params[field] and folder not in folders and not os.path.isdir(folder):
                self.fail("%s: the folder of %s does not exist" % (field, params[field]))
        if not os.path.isdir(params["bin_dir"]):
            self.fail("bin_dir: %s is not a folder" % params["bin_dir"])
        if not self.archive.endswith((".zip", ".tar.gz", ".tgz")):
            self.fail("url: %s is not a .zip, .tar.gz or .tgz archive" % params["url"])
        if params["strip_components"] < 0:
            self.fail("strip_components must not be negative")
        if params["state_file"] and params["state_content"] is None:
            self.fail("state_content is required with state_file")
        result = {"downloaded": False, "unpacked": False, "links_changed": [], "state_written": False}
        differ = self.links()
        result["links_changed"] = [pair[0] for pair in differ]
        missing = [b for b in params["binaries"] if not os.path.isfile(os.path.join(params["dest"], b))]
        modes = [b for b in params["binaries"] if b not in missing
                 and stat.S_IMODE(os.stat(os.path.join(params["dest"], b)).st_mode) != 0o755]  # fmt: skip
        state_now = read_bytes(params["state_file"]) if params["state_file"] else None
        state_differs = bool(params["state_file"]) and state_now != params["state_content"].encode()
        folder_new = not os.path.isdir(params["dest"])
        if check:
            result.update(downloaded=bool(missing), unpacked=bool(missing), state_written=state_differs)
            changed = folder_new or bool(missing or modes or differ or state_differs)
            self.module.exit_json(changed=changed, **result)

        os.makedirs(os.path.dirname(params["archive_path"]), mode=0o755, exist_ok=True)
        if folder_new:
            os.makedirs(params["dest"], mode=0o755)
            os.chmod(params["dest"], 0o755)  # noqa: S103 - a program's folder, readable by its service user
        if missing:
            try:
                expected = self.expected()
                result["downloaded"] = self.download(expected)
                unpack(params["archive_path"], params["dest"], params["strip_components"])
                result["unpacked"] = True
                still = [b for b in params["binaries"] if not os.path.isfile(os.path.join(params["dest"], b))]
                if still:
                    raise ValueError("the archive holds no %s" % ", ".join(still))
            except ChecksumMismatch as error:
                self.clean()
                self.fail(
                    "Checksum mismatch for %s from %s: expected sha256 %s (from %s), downloaded file has sha256 "
                    "%s. Nothing was installed; the running version is untouched."
                    % (self.archive, params["url"], error.expected, params["checksum_url"], error.actual)
                )
            except (OSError, ValueError, tarfile.TarError, zipfile.BadZipFile) as error:
                self.clean()
                self.fail("Could not install %s from %s: %s. Nothing was linked; the running version is untouched."
                          % (self.archive, params["url"], error))  # fmt: skip
        for binary in params["binaries"]:
            os.chmod(os.path.join(params["dest"], binary), 0o755)  # noqa: S103 - the service user runs it
        if differ and params["owe_path"]:
            write_bytes(params["owe_path"], params["owe_content"].encode(), 0o644)
        for link, target in differ:
            temp = os.path.join(os.path.dirname(link), ".release-install-%s" % os.path.basename(link))
            if os.path.lexists(temp):
                os.unlink(temp)
            os.symlink(target, temp)
            os.replace(temp, link)
        if state_differs:
            write_bytes(params["state_file"], params["state_content"].encode(), 0o644)
            result["state_written"] = True
        changed = folder_new or bool(missing or modes or differ or state_differs)
        self.module.exit_json(changed=changed, **result)

    def clean(self):
        """A failed install leaves no version folder, unless it is the one in use (a rollback that failed)."""
        if not self.in_use():
            shutil.rmtree(self.params["dest"], ignore_errors=True)


class ChecksumMismatch(Exception):
    def __init__(self, expected, actual):
        super().__init__("sha256 %s, expected %s" % (actual, expected))
        self.expected, self.actual = expected, actual


def main():
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "checksum_url": {"type": "str", "required": True},
            "archive_path": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "strip_components": {"type": "int", "default": 0},
            "binaries": {"type": "list", "elements": "str", "required": True},
            "bin_dir": {"type": "path", "default": "/usr/local/bin"},
            "state_file": {"type": "path"},
            "state_content": {"type": "str"},
            "owe_path": {"type": "path"},
            "owe_content": {"type": "str", "default": ""},
            "timeout": {"type": "int", "default": 30},
            "validate_certs": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    Installer(module).run()


if __name__ == "__main__":
    main()
