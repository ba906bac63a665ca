"""Run the collection's modules the way Ansible runs them (ad-hoc, JSON output)."""

from __future__ import annotations

import contextlib
import datetime
import importlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.common import warnings

try:  # ansible-core 2.19 and later
    from ansible.module_utils import _internal
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # older cores read a module's arguments from basic._ANSIBLE_ARGS
    _internal = None

    @contextlib.contextmanager
    def patch_module_args(params):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": params}).encode()):
            yield

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


def run_tasks(tasks: list[dict], tmp_path: Path) -> list[dict]:
    """Several module tasks in one ansible-playbook run (one Ansible start-up for all of them).

    Each task is {"module": name, "args": {...}, "check": bool, "diff": bool}; the tasks run in order, a failed
    one does not stop the others. Each result gets "_started" and "_ended" (UTC datetimes from the json
    callback), so a test can tell which requests a server received during which task.
    """
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": f"step {index}", f"mlops.stack.{task['module']}": task["args"], "check_mode": task.get("check", False),
         "diff": task.get("diff", False), "ignore_errors": True}
        for index, task in enumerate(tasks)
    ]}]  # fmt: skip
    playbook = tmp_path / "tasks.yml"
    playbook.write_text(json.dumps(play))  # JSON is YAML
    argv = ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook),
            "-e", json.dumps({"ansible_python_interpreter": sys.executable})]  # fmt: skip
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1")  # fmt: skip
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, check=False)
    try:
        recorded = json.loads(done.stdout)["plays"][0]["tasks"]
        results = []
        for entry in recorded:
            result = entry["hosts"]["localhost"]
            duration = entry["task"]["duration"]
            result["_started"], result["_ended"] = _utc(duration["start"]), _utc(duration["end"])
            results.append(result)
    except (ValueError, KeyError, IndexError):
        raise AssertionError(f"no task results (rc {done.returncode}):\n{done.stdout}\n{done.stderr}") from None
    assert len(results) == len(tasks), done.stdout
    return results


def _utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=datetime.UTC)


def module_code(module: str):
    """The collection module's Python code, imported from the checkout.

    Import it when a test file is collected: a test that installs Ansible's own collection loader (and
    leaves it installed) makes later plain imports of ansible_collections.* fail.
    """
    if str(ROOT / ".build") not in sys.path:
        sys.path.insert(0, str(ROOT / ".build"))  # ansible_collections/mlops/stack -> the checkout
    return importlib.import_module(f"ansible_collections.mlops.stack.plugins.modules.{module}")


def call_module(module: str, args: dict, check: bool = False, diff: bool = False) -> dict:
    """The module's result, run in this process: its main() with the arguments Ansible would pass.

    The same module code as under Ansible (argument parsing, check and diff mode, no_log masking of the
    result) without the executor's start-up, for the many short error and edge cases.
    """
    code = module_code(module)
    warnings._global_warnings.clear()
    warnings._global_deprecations.clear()
    output = io.StringIO()
    params = dict(args, _ansible_check_mode=check, _ansible_diff=diff, _ansible_module_name=module)
    # As in a module's own process, even when controller code was imported into this one (warnings are then
    # returned with the result instead of being displayed).
    not_controller = mock.patch.object(_internal, "is_controller", False) if _internal else contextlib.nullcontext()
    with patch_module_args(params), not_controller, contextlib.redirect_stdout(output), contextlib.suppress(SystemExit):
        code.main()
    try:
        result = json.loads(output.getvalue())
    except ValueError:
        raise AssertionError(f"no module result:\n{output.getvalue()}") from None
    # Warnings as the executor shows them (the module sends structured summaries).
    result["warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    return result
