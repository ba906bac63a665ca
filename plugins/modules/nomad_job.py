#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Submit, update or remove a Nomad job, deciding changed from Nomad's plan."""

from __future__ import annotations

DOCUMENTATION = r"""
module: nomad_job
short_description: Register, update or purge a Nomad job, with changed decided by Nomad's plan
description:
  - Parses the job (HCL with variables through Nomad's parse API, or API JSON), asks Nomad for a plan with a diff, and
    registers the job only when the plan shows a change, enforcing the plan's job modify index so a concurrent change
    is not overwritten.
  - C(changed) is the plan's verdict, C(--diff) shows the plan's changes, and check mode returns the plan and fails
    when allocations could not be placed.
  - Optionally waits until a service job's deployment is successful or a batch job's allocations are done, and on a
    failure reports the failed allocations' task events.
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
extends_documentation_fragment:
  - mlops.stack.nomad
  - ansible.builtin.action_common_attributes
options:
  state:
    description: C(present) registers the job; C(absent) stops it (and purges it with O(purge)).
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Job ID. Required with O(state=absent) unless a job is given; when a job is given, it must match its ID.
    type: str
  hcl:
    description: The job as HCL text.
    type: str
  src:
    description:
      - Path of a job file on the host the task runs on; C(.json) files are API JSON, anything else is HCL.
    type: path
  job:
    description:
      - The job as API JSON, a dict or a JSON string, with or without the enclosing C(Job) key.
    type: raw
  variables:
    description: HCL2 variables for an HCL job (name to value).
    type: dict
    default: {}
  purge:
    description: With O(state=absent), purge the job from Nomad's state instead of only stopping it.
    type: bool
    default: true
  wait:
    description:
      - Wait until a service or system job's deployment is successful, or a batch job's allocations are complete.
      - Fails, with the failed allocations' task events, when the deployment fails or an allocation fails.
      - A service or system job fails as soon as every allocation of this version has failed beyond recovery, not
        at its deployment's progress deadline or O(wait_timeout). That is, each failed with an error Nomad calls
        unrecoverable (a driver config it cannot parse), or each failed with no restart or reschedule left (no
        replacement placed, none delayed, no evaluation pending).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait with O(wait).
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    details: Returns Nomad's plan; fails when allocations could not be placed.
  diff_mode:
    support: full
    details: Shows the plan's changes.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Run the training job, waiting for its deployment
  mlops.stack.nomad_job:
    address: https://nomad.example.com:4646
    ca_cert: /etc/nomad.d/tls/ca.crt
    token: "{{ nomad_token }}"
    src: jobs/trainer.nomad.hcl
    variables:
      image: trainer:1.4
    wait: true
  delegate_to: localhost

- name: Remove a job and purge it
  mlops.stack.nomad_job:
    name: trainer
    state: absent
"""

RETURN = r"""
job_id:
  description: ID of the job.
  returned: always
  type: str
plan:
  description: Nomad's plan (diff type, annotations, placement failures, job modify index).
  returned: state=present
  type: dict
eval_id:
  description: ID of the evaluation the registration created.
  returned: when the job was registered
  type: str
version:
  description: Job version after the run.
  returned: state=present and not check mode
  type: int
status:
  description: Outcome of the wait (C(successful) deployment, C(complete) batch allocations).
  returned: with wait
  type: str
allocations:
  description: The allocations of this job version (ID, task group, client status) after the wait.
  returned: with wait
  type: list
  elements: dict
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlops.stack.plugins.module_utils.nomad import (
    NomadAPIError,
    NomadClient,
    nomad_argument_spec,
    summarize,
    wait_for,
)


def hcl_variables(variables):
    """HCL2 variable-file text; JSON values are valid HCL2 expressions."""
    return "".join("%s = %s\n" % (name, json.dumps(value)) for name, value in sorted(variables.items()))


def parse_hcl(client, text, variables):
    try:
        return client.request(
            "PUT", "jobs/parse", {"JobHCL": text, "Canonicalize": True, "Variables": hcl_variables(variables)}
        )
    except NomadAPIError as error:
        if error.status == 400:
            raise ValueError("Nomad could not parse the job: %s" % error.message) from None
        raise


def load_job(module, client):
    params = module.params
    if params["hcl"] is not None:
        return parse_hcl(client, params["hcl"], params["variables"])
    if params["src"] is not None:
        try:
            with open(params["src"], encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise ValueError("src: cannot read %s: %s" % (params["src"], error.strerror)) from None
        if not params["src"].endswith(".json"):
            return parse_hcl(client, text, params["variables"])
        job = text
    elif params["job"] is not None:
        job = params["job"]
    else:
        return None
    if isinstance(job, str):
        try:
            job = json.loads(job)
        except ValueError as error:
            raise ValueError("job: not valid JSON: %s" % error) from None
    if isinstance(job, dict) and set(job) == {"Job"}:
        job = job["Job"]
    if not isinstance(job, dict) or not isinstance(job.get("ID"), str) or not job["ID"]:
        raise ValueError("job: not a Nomad API job (a JSON object with an ID)")
    return job


def render_diff(diff, depth=0):
    """Nomad's plan diff as text, one line per changed field."""
    lines = []
    pad = "  " * depth
    sign = {"Added": "+", "Deleted": "-", "Edited": "~", "None": " "}
    for field in diff.get("Fields") or []:
        if field.get("Type", "None") != "None":
            old, new = field.get("Old", ""), field.get("New", "")
            change = new if field["Type"] == "Added" else old if field["Type"] == "Deleted" else "%s => %s" % (old, new)
            lines.append("%s%s %s: %s" % (pad, sign.get(field["Type"], "~"), field["Name"], change))
    for kind in ("Objects", "TaskGroups", "Tasks"):
        for child in diff.get(kind) or []:
            if child.get("Type", "None") == "None":
                continue
            label = child.get("Name", kind)
            lines.append("%s%s %s %s" % (pad, sign.get(child["Type"], "~"), kind.rstrip("s").lower(), label))
            lines.extend(render_diff(child, depth + 1))
    return lines


def present(module, client, job):
    job_id = job["ID"]
    plan = client.request("PUT", client.job_path(job_id, "plan"), {"Job": job, "Diff": True})
    diff = plan.get("Diff") or {"Type": "None"}
    changed = diff.get("Type", "None") != "None"
    result = {
        "changed": changed,
        "job_id": job_id,
        "plan": {
            "diff_type": diff.get("Type"),
            "annotations": plan.get("Annotations"),
            "failed_allocations": plan.get("FailedTGAllocs") or {},
            "job_modify_index": plan.get("JobModifyIndex"),
            "warnings": plan.get("Warnings", ""),
        },
    }
    if module._diff:
        result["diff"] = {"prepared": "\n".join(render_diff(diff)) + "\n" if changed else ""}
    if module.check_mode:
        if plan.get("FailedTGAllocs"):
            module.fail_json(
                msg="allocations of job %s could not be placed: %s"
                % (job_id, ", ".join(sorted(plan["FailedTGAllocs"]))),
                **result,
            )
        return result
    eval_id = None
    if changed:
        registered = client.request(
            "PUT", "jobs", {"Job": job, "EnforceIndex": True, "JobModifyIndex": plan.get("JobModifyIndex", 0)}
        )
        eval_id = registered.get("EvalID") or None
        result["eval_id"] = eval_id
    current = client.request("GET", client.job_path(job_id))
    result["version"] = current.get("Version")
    if module.params["wait"]:
        deadline = time.monotonic() + module.params["wait_timeout"]
        status, allocations = wait_for(
            client, job_id, current.get("Type", "service"), current.get("Version"), eval_id, deadline
        )
        result["status"] = status
        result["allocations"] = summarize(allocations)
    return result


def absent(module, client, job_id):
    existing = client.request("GET", client.job_path(job_id), missing_ok=True)
    purge = module.params["purge"]
    result = {"changed": False, "job_id": job_id}
    if existing is None or (existing.get("Stop") and not purge):
        return result
    result["changed"] = True
    if module._diff:
        result["diff"] = {"before": "job %s (version %s)\n" % (job_id, existing.get("Version")), "after": ""}
    if not module.check_mode:
        answer = client.request("DELETE", client.job_path(job_id), query={"purge": "true"} if purge else None)
        result["eval_id"] = (answer or {}).get("EvalID")
    return result


def main():
    argument_spec = nomad_argument_spec()
    argument_spec.update(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        name=dict(type="str"),
        hcl=dict(type="str"),
        src=dict(type="path"),
        job=dict(type="raw"),
        variables=dict(type="dict", default={}),
        purge=dict(type="bool", default=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("hcl", "src", "job")],
        required_if=[("state", "present", ("hcl", "src", "job"), True)],
        supports_check_mode=True,
    )
    client = NomadClient(module.params)
    try:
        job = load_job(module, client)
        job_id = job["ID"] if job else module.params["name"]
        if not job_id:
            module.fail_json(msg="name: required with state=absent when no job is given")
        if job and module.params["name"] and module.params["name"] != job_id:
            module.fail_json(msg="name: %s does not match the job's ID %s" % (module.params["name"], job_id))
        if module.params["state"] == "present":
            result = present(module, client, job)
        else:
            result = absent(module, client, job_id)
    except (ValueError, RuntimeError, NomadAPIError) as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
