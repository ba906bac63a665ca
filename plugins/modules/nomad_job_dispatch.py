#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dispatch a parameterized Nomad job, idempotently with a token, and wait for it."""

from __future__ import annotations

DOCUMENTATION = r"""
module: nomad_job_dispatch
short_description: Dispatch a parameterized Nomad job, with meta and payload, and wait for its outcome
description:
  - Dispatches a run of a parameterized job. With O(idempotency_token), a run with the same token that Nomad still
    knows is returned instead of a new one (C(changed) is then false), so a retried task does not start a second run.
  - With O(wait), waits until the run's allocations are done and fails, with the failed allocations' task events,
    when the run failed.
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
extends_documentation_fragment:
  - mlops.stack.nomad
  - ansible.builtin.action_common_attributes
options:
  name:
    description: ID of the parameterized job.
    type: str
    required: true
  meta:
    description: Dispatch metadata (the job's C(meta_required) and C(meta_optional) keys); values are sent as strings.
    type: dict
    default: {}
  payload:
    description: Payload for the run (text; sent base64 encoded).
    type: str
  idempotency_token:
    description: A run with this token that Nomad still knows is reused instead of dispatching a new one.
    type: str
  wait:
    description: Wait until the run's allocations are complete; fail when the run failed.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait with O(wait).
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    details: Dispatches nothing; reports changed unless a run with O(idempotency_token) exists.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Train one model and wait for the run
  mlops.stack.nomad_job_dispatch:
    name: trainer
    meta:
      MODEL_NAME: iris-logreg
      TRAINING_EPOCHS: "20"
    idempotency_token: "{{ run_id }}"
    wait: true
  register: run
"""

RETURN = r"""
dispatched_job_id:
  description: ID of the dispatched run (a child job of O(name)).
  returned: success, except in check mode without an existing run
  type: str
eval_id:
  description: Evaluation created by the dispatch; empty when an existing run was returned.
  returned: when dispatched
  type: str
status:
  description: Outcome of the run with O(wait) (C(complete)).
  returned: with wait
  type: str
allocations:
  description: The run's allocations (ID, task group, client status) after the wait.
  returned: with wait
  type: list
  elements: dict
"""

import base64
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlops.stack.plugins.module_utils.nomad import (
    NomadAPIError,
    NomadClient,
    nomad_argument_spec,
    summarize,
    wait_for,
)


def existing_run(client, name, token):
    """The run of job `name` dispatched with `token`, if Nomad still knows it."""
    for stub in client.request("GET", "jobs", query={"prefix": name + "/dispatch-"}) or []:
        if stub.get("ParentID") != name:
            continue
        job = client.request("GET", client.job_path(stub["ID"]), missing_ok=True)
        if job and job.get("DispatchIdempotencyToken") == token:
            return job
    return None


def main():
    argument_spec = nomad_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        meta=dict(type="dict", default={}),
        payload=dict(type="str"),
        idempotency_token=dict(type="str", no_log=False),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=600),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    client = NomadClient(params)
    name = params["name"]
    result = {"changed": False}
    try:
        parent = client.request("GET", client.job_path(name), missing_ok=True)
        if parent is None:
            module.fail_json(msg="name: no job %s to dispatch" % name)
        if not parent.get("ParameterizedJob"):
            module.fail_json(msg="name: job %s is not a parameterized job" % name)
        if module.check_mode:
            found = existing_run(client, name, params["idempotency_token"]) if params["idempotency_token"] else None
            if found:
                result["dispatched_job_id"] = found["ID"]
            result["changed"] = found is None
            module.exit_json(**result)
        body = {"Meta": {key: str(value) for key, value in params["meta"].items()}}
        if params["payload"] is not None:
            body["Payload"] = base64.b64encode(params["payload"].encode("utf-8")).decode("ascii")
        if params["idempotency_token"]:
            body["IdempotencyToken"] = params["idempotency_token"]
        try:
            answer = client.request("POST", client.job_path(name, "dispatch"), body)
        except NomadAPIError as error:
            if error.status in (400, 500) and error.message:
                # Nomad's refusal (missing meta, payload not allowed, ...).
                module.fail_json(msg="Nomad refused to dispatch job %s: %s" % (name, error.message))
            raise
        run_id = answer["DispatchedJobID"]
        result.update(changed=bool(answer.get("EvalID")), dispatched_job_id=run_id, eval_id=answer.get("EvalID", ""))
        if params["wait"]:
            run = client.request("GET", client.job_path(run_id))
            deadline = time.monotonic() + params["wait_timeout"]
            status, allocations = wait_for(
                client, run_id, "batch", run.get("Version"), answer.get("EvalID") or None, deadline
            )
            result.update(status=status, allocations=summarize(allocations))
    except (NomadAPIError, RuntimeError) as error:
        module.fail_json(msg=str(error), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
