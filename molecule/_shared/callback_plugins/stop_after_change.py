# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test aid for the Molecule side effects: the controller dies right after a change.

A run stopped between a change on the hosts and its handlers, the way a killed ansible-playbook stops (Ctrl-C
twice, a CI job's timeout, a controller that goes away). Enabled with
ANSIBLE_CALLBACK_PLUGINS=<this folder> ANSIBLE_CALLBACKS_ENABLED=stop_after_change and
MLOPS_STOP_AFTER_CHANGED=<regular expression>: once a task whose name matches has reported a change, the process
exits with status 3 as the next task or handler is about to start (every host has finished the task then). Nothing
runs after it, not even Ansible's own clean-up.
"""

from __future__ import annotations

import os
import re
import sys

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: stop_after_change
type: aggregate
short_description: Test aid, exits the controller right after a matching task changed something
description:
  - Used by the Molecule side effects to leave a run stopped between a change and its handlers.
options: {}
"""

STATUS = 3


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "stop_after_change"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        pattern = os.environ.get("MLOPS_STOP_AFTER_CHANGED", "")
        self._pattern = re.compile(pattern) if pattern else None
        self._stopping = None

    def v2_runner_on_ok(self, result):
        name = result._task.get_name()
        if self._pattern and result.is_changed() and self._pattern.search(name):
            self._stopping = name

    def _stop_if_due(self, *args, **kwargs):
        if self._stopping:
            sys.stdout.write(f"\nstop_after_change: '{self._stopping}' changed something; exiting with {STATUS}\n")
            sys.stdout.flush()
            os._exit(STATUS)

    v2_playbook_on_task_start = _stop_if_due
    v2_playbook_on_handler_task_start = _stop_if_due
    v2_playbook_on_stats = _stop_if_due
