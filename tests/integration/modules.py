"""Run the collection's modules the way Ansible runs them (ad-hoc, JSON output)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_module(module: str, args: dict, check: bool = False, diff: bool = False) -> dict:
    """The module's result on localhost (it runs with this Python, as on a controller)."""
    argv = ["ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", f"mlops.stack.{module}",
            "-a", json.dumps(args), "-e", json.dumps({"ansible_python_interpreter": sys.executable})]  # fmt: skip
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1")  # fmt: skip
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, check=False)
    try:
        output = json.loads(done.stdout)
        return output["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(f"no module result (rc {done.returncode}):\n{done.stdout}\n{done.stderr}") from None
