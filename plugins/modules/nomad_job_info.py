#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read Nomad jobs: the list, or one job with its status and allocations."""

from __future__ import annotations

DOCUMENTATION = r"""
module: nomad_job_info
short_description: List Nomad jobs, or read one job's status, summary, latest deployment and allocations
description:
  - Without O(name), lists the jobs (optionally those whose ID starts with O(prefix)).
  - With O(name), returns that job, its summary, its latest deployment and its allocations; a missing job is not an
    error (RV(exists) is false).
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
extends_documentation_fragment:
  - mlops.stack.nomad
  - ansible.builtin.action_common_attributes
options:
  name:
    description: Job ID to read.
    type: str
  prefix:
    description: Without O(name), list only the jobs whose ID starts with this.
    type: str
attributes:
  check_mode:
    support: full
    details: Read-only.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Is the training job running?
  mlops.stack.nomad_job_info:
    name: trainer
  register: trainer

- name: Every dispatched training run
  mlops.stack.nomad_job_info:
    prefix: trainer/dispatch-
"""

RETURN = r"""
jobs:
  description: The jobs (Nomad's job list entries).
  returned: without name
  type: list
  elements: dict
exists:
  description: Whether the job exists.
  returned: with name
  type: bool
job:
  description: The job as Nomad returns it.
  returned: with name, when the job exists
  type: dict
status:
  description: The job's status (C(pending), C(running), C(dead)).
  returned: with name, when the job exists
  type: str
summary:
  description: Allocation counts per task group (queued, running, complete, failed, lost, ...).
  returned: with name, when the job exists
  type: dict
deployment:
  description: The latest deployment (service jobs), or null.
  returned: with name, when the job exists
  type: dict
allocations:
  description: The job's allocations (ID, task group, job version, client and desired status).
  returned: with name, when the job exists
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlops.stack.plugins.module_utils.nomad import NomadAPIError, NomadClient, nomad_argument_spec


def main():
    argument_spec = nomad_argument_spec()
    argument_spec.update(name=dict(type="str"), prefix=dict(type="str"))
    module = AnsibleModule(
        argument_spec=argument_spec, mutually_exclusive=[("name", "prefix")], supports_check_mode=True
    )
    client = NomadClient(module.params)
    name = module.params["name"]
    try:
        if not name:
            query = {"prefix": module.params["prefix"]} if module.params["prefix"] else None
            module.exit_json(changed=False, jobs=client.request("GET", "jobs", query=query) or [])
        job = client.request("GET", client.job_path(name), missing_ok=True)
        if job is None:
            module.exit_json(changed=False, exists=False)
        summary = client.request("GET", client.job_path(name, "summary"))
        deployment = client.request("GET", client.job_path(name, "deployment"))
        allocations = client.request("GET", client.job_path(name, "allocations")) or []
    except NomadAPIError as error:
        module.fail_json(msg=str(error))
    module.exit_json(
        changed=False,
        exists=True,
        job=job,
        status=job.get("Status"),
        summary=(summary or {}).get("Summary", {}),
        deployment=deployment,
        allocations=[
            {key: a.get(key) for key in ("ID", "TaskGroup", "JobVersion", "ClientStatus", "DesiredStatus")}
            for a in allocations
        ],
    )


if __name__ == "__main__":
    main()
