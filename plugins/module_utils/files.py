# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and atomically replacing files: shared by the modules that write on a host and the controller's actions."""

from __future__ import annotations

import contextlib
import os
import tempfile


def read_bytes(path):
    """The file's bytes, or None when it (or a folder on its way) does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


@contextlib.contextmanager
def replacing(path, mode, prefix=".mlops-stack-"):
    """The name of a new, empty temporary file beside path, for the block to fill.

    Its mode is set before anything is written to it, so a key is never readable by others, not even for a moment.
    When the block ends, the file replaces path in one rename; when the block raises, it is removed and path is left
    as it was.
    """
    handle, temp = tempfile.mkstemp(prefix=prefix, dir=os.path.dirname(path) or ".")
    try:
        try:
            os.fchmod(handle, mode)
        finally:
            os.close(handle)
        yield temp
        os.replace(temp, path)
    finally:
        if os.path.lexists(temp):
            os.unlink(temp)


def write_bytes(path, data, mode):
    """Replace path with data in one rename, its mode set first."""
    with replacing(path, mode) as temp, open(temp, "wb") as out:
        out.write(data)
