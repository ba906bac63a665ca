# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_probe: runs the module on the host, unless this run has already read exactly what it asks for.

The documentation is in plugins/modules/host_probe.py. site.yml reads every role's part once per host at its
start (recorded=true); a role's probe then passes that reading as ahead, with its own record name, while
nothing has been written on the host since. When the reading holds this probe's lists, it is returned here,
in the worker on the controller, and no module runs on the host.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.mlops.stack.plugins.module_utils.probe import probe_spec, reusable_reading


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        ahead = args.pop("ahead", None)
        key = args.get("record")
        # A check run writes nothing on the host, not even the probe's own record. (The task itself runs with
        # check_mode false: ansible_check_mode is the run's.)
        if (task_vars or {}).get("ansible_check_mode"):
            args.pop("record", None)
        if key and ahead is not None and not args.get("recorded"):
            reading = reusable_reading(ahead, key, probe_spec(args))
            if reading is not None:
                result.update(reading)
                result.update(changed=False, reused=True)
                return result
        result.update(self._execute_module(module_name="mlops.stack.host_probe", module_args=args,
                                           task_vars=task_vars))
        return result
