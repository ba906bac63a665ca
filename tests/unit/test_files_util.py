"""module_utils/files (pure logic, on this machine's files): the atomic replace every writer of the collection uses.

host_files, release_install and the tls_certificate action write through it; their own tests run them as Ansible
runs them.
"""

import os
import stat
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build"))  # ansible_collections/mlops/stack -> the checkout

from ansible_collections.mlops.stack.plugins.module_utils.files import read_bytes, replacing, write_bytes  # noqa: E402


def test_a_replacement_has_its_mode_before_its_content_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "agent.key"
    target.write_bytes(b"old")
    with replacing(str(target), 0o600) as temp:
        assert stat.S_IMODE(os.stat(temp).st_mode) == 0o600 and os.path.getsize(temp) == 0
        Path(temp).write_bytes(b"secret")
        assert target.read_bytes() == b"old"  # nothing replaced before the block ends
    assert target.read_bytes() == b"secret" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.key"]


def test_a_block_that_raises_leaves_the_file_as_it_was_and_no_temporary_file(tmp_path):
    target = tmp_path / "consul.hcl"
    target.write_bytes(b"kept")
    with pytest.raises(ValueError, match="refused"), replacing(str(target), 0o644) as temp:
        Path(temp).write_bytes(b"half written")
        raise ValueError("refused")
    assert target.read_bytes() == b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["consul.hcl"]


def test_write_and_read_bytes(tmp_path):
    target = tmp_path / "record"
    assert read_bytes(str(target)) is None
    assert read_bytes(str(tmp_path / "record" / "below")) is None  # a folder on the way missing: None, no error
    write_bytes(str(target), b"v1\n", 0o640)
    assert read_bytes(str(target)) == b"v1\n" and stat.S_IMODE(target.stat().st_mode) == 0o640
    with pytest.raises(FileNotFoundError):
        write_bytes(str(tmp_path / "no-folder" / "record"), b"x", 0o644)
