# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for the Nomad HTTP API, on Ansible's open_url.

Errors carry the HTTP status and Nomad's own message, on one line.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote, urlencode

from ansible.module_utils.basic import env_fallback
from ansible_collections.mlops.stack.plugins.module_utils._http import APIError, one_line, request_json


def _skip_verify_fallback():
    value = env_fallback("NOMAD_SKIP_VERIFY")
    return value.lower() not in ("1", "true", "yes")


def nomad_argument_spec():
    """The connection options every Nomad module takes (doc fragment mlops.stack.nomad)."""
    return dict(
        address=dict(type="str", default="http://127.0.0.1:4646", fallback=(env_fallback, ["NOMAD_ADDR"])),
        token=dict(type="str", no_log=True, fallback=(env_fallback, ["NOMAD_TOKEN"])),
        ca_cert=dict(type="path", fallback=(env_fallback, ["NOMAD_CACERT"])),
        client_cert=dict(type="path", fallback=(env_fallback, ["NOMAD_CLIENT_CERT"])),
        client_key=dict(type="path", no_log=False, fallback=(env_fallback, ["NOMAD_CLIENT_KEY"])),
        validate_certs=dict(type="bool", default=True, fallback=(_skip_verify_fallback,)),
        timeout=dict(type="int", default=30),
        namespace=dict(type="str", fallback=(env_fallback, ["NOMAD_NAMESPACE"])),
        region=dict(type="str", fallback=(env_fallback, ["NOMAD_REGION"])),
    )


class NomadAPIError(APIError):
    """A failed Nomad API request: status is None when Nomad could not be reached."""

    service = "Nomad"


class NomadClient:
    """Requests to one Nomad API with the module's connection options."""

    def __init__(self, params):
        self.address = params["address"].rstrip("/")
        self.token = params.get("token")
        self.ca_cert = params.get("ca_cert")
        self.client_cert = params.get("client_cert")
        self.client_key = params.get("client_key")
        self.validate_certs = params.get("validate_certs", True)
        self.timeout = params.get("timeout", 30)
        self.namespace = params.get("namespace")
        self.region = params.get("region")

    def url(self, path, query=None):
        query = dict(query or {})
        if self.namespace:
            query.setdefault("namespace", self.namespace)
        if self.region:
            query.setdefault("region", self.region)
        url = "%s/v1/%s" % (self.address, path.lstrip("/"))
        return url + ("?" + urlencode(query) if query else "")

    def request(self, method, path, body=None, query=None, missing_ok=False):
        """The decoded JSON answer (None for an empty one, or for 404 when missing_ok)."""
        url = self.url(path, query)
        headers = {"X-Nomad-Token": self.token} if self.token else {}
        return request_json(
            NomadAPIError, method, url, headers=headers, body=body, missing_ok=missing_ok,
            validate_certs=self.validate_certs, timeout=self.timeout, ca_path=self.ca_cert,
            client_cert=self.client_cert, client_key=self.client_key,
        )  # fmt: skip

    def job_path(self, job_id, *rest):
        return "/".join(["job", quote(job_id, safe=""), *rest])


TERMINAL = ("complete", "failed", "lost")


def failure_events(allocations, limit=5):
    """The last task events of failed allocations, one line each."""
    messages = []
    for alloc in allocations:
        if alloc.get("ClientStatus") != "failed":
            continue
        for task, state in sorted((alloc.get("TaskStates") or {}).items()):
            for event in (state.get("Events") or [])[-limit:]:
                text = event.get("DisplayMessage") or event.get("Message") or event.get("Type")
                messages.append("%s/%s: %s" % (alloc["ID"][:8], task, one_line(text, 300)))
    return messages


def summarize(allocations):
    return [
        {"ID": a["ID"], "TaskGroup": a.get("TaskGroup"), "ClientStatus": a.get("ClientStatus")} for a in allocations
    ]


def wait_for(client, job_id, job_type, version, eval_id, deadline):
    """Wait (until the time.monotonic() deadline) for the outcome of this job version.

    Returns (status, allocations): "successful" for a service job's deployment,
    "complete" for batch allocations, "running" for a system job without a
    deployment. Raises RuntimeError with the failed allocations' task events: when
    the deployment or a batch allocation failed, and, for service and system jobs,
    as soon as every allocation failed beyond recovery (beyond_recovery), not at
    the deadline.
    """
    started = time.monotonic()
    last_failed_ids = None
    while True:
        if eval_id:
            evaluation = client.request("GET", "evaluation/%s" % eval_id)
            failed = evaluation.get("FailedTGAllocs") or {}
            if failed:
                groups = ", ".join(
                    "%s (%s)"
                    % (g, one_line(json.dumps(m.get("DimensionExhausted") or m.get("ConstraintFiltered") or {}), 200))
                    for g, m in sorted(failed.items())
                )
                raise RuntimeError("allocations of job %s could not be placed: %s" % (job_id, groups))
        allocations = [
            a for a in client.request("GET", client.job_path(job_id, "allocations"), query={"all": "true"}) or []
            if a.get("JobVersion") == version
        ]  # fmt: skip
        if job_type == "batch":
            if allocations and all(a.get("ClientStatus") in TERMINAL for a in allocations):
                events = failure_events(client_allocs(client, allocations))
                if events or any(a.get("ClientStatus") != "complete" for a in allocations):
                    raise RuntimeError("batch job %s failed: %s" % (job_id, "; ".join(events) or "allocation lost"))
                return "complete", allocations
        else:
            deployment = client.request("GET", client.job_path(job_id, "deployment"))
            if deployment and deployment.get("JobVersion") == version:
                if deployment["Status"] == "successful":
                    return "successful", allocations
                if deployment["Status"] in ("failed", "cancelled"):
                    events = failure_events(client_allocs(client, allocations))
                    raise RuntimeError(
                        "deployment of job %s %s: %s%s"
                        % (
                            job_id,
                            deployment["Status"],
                            deployment.get("StatusDescription", ""),
                            (" (" + "; ".join(events) + ")") if events else "",
                        )
                    )
            elif (
                deployment is None
                and job_type == "system"
                and allocations
                and all(a.get("ClientStatus") == "running" for a in allocations)
            ):
                return "running", allocations
            failed_ids = None
            if allocations and all(a.get("ClientStatus") == "failed" for a in allocations):
                evaluations = client.request("GET", client.job_path(job_id, "evaluations")) or []
                if beyond_recovery(allocations, evaluations):
                    failed_ids = sorted(a["ID"] for a in allocations)
            if failed_ids and failed_ids == last_failed_ids:
                events = failure_events(client_allocs(client, allocations))
                raise RuntimeError(
                    "job %s failed: every allocation failed with no restart or reschedule left that could succeed%s"
                    % (job_id, (": " + "; ".join(events)) if events else "")
                )
            last_failed_ids = failed_ids
        if time.monotonic() > deadline:
            events = failure_events(client_allocs(client, allocations))
            raise RuntimeError(
                "timed out after %ss waiting for job %s (allocations: %s)%s"
                % (
                    int(deadline - started),
                    job_id,
                    ", ".join(a.get("ClientStatus", "?") for a in allocations) or "none",
                    (": " + "; ".join(events)) if events else "",
                )
            )
        time.sleep(1)


def failed_unrecoverably(allocation):
    """A failed allocation whose task Nomad would not restart because the error was unrecoverable (a driver
    config Nomad cannot parse, for example): the same job version fails the same way wherever it is placed."""
    return allocation.get("ClientStatus") == "failed" and any(
        event.get("Type") == "Not Restarting"
        and "unrecoverable" in (event.get("RestartReason") or event.get("DisplayMessage") or "").lower()
        for state in (allocation.get("TaskStates") or {}).values()
        for event in (state or {}).get("Events") or []
    )


def beyond_recovery(allocations, evaluations):
    """Every allocation failed and nothing Nomad may still try can succeed: a certain failure, before any deadline.

    Either every allocation failed with an unrecoverable error, or every one failed with no restart or
    reschedule left: none replaced (NextAllocation), none to be rescheduled (FollowupEvalID, a delayed
    evaluation), and no evaluation of the job still to run. Restarts happen inside an allocation: it is
    "failed" only once they are used up. wait_for asks this on two polls in a row (the same failed
    allocations), so a replacement the scheduler places in between is seen.
    """
    if not allocations or any(a.get("ClientStatus") != "failed" for a in allocations):
        return False
    if all(failed_unrecoverably(a) for a in allocations):
        return True
    if any(a.get("NextAllocation") or a.get("FollowupEvalID") for a in allocations):
        return False
    return bool(evaluations) and all(e.get("Status") in ("complete", "failed", "canceled") for e in evaluations)


def client_allocs(client, allocations):
    """Full allocations (with task states) of the failed ones."""
    return [client.request("GET", "allocation/%s" % a["ID"]) for a in allocations if a.get("ClientStatus") == "failed"]


def acl_plan(current_policies, wanted_policies, current_tokens, wanted_tokens):
    """What nomad_acl has to write.

    current_policies: name -> Nomad's policy (or None when missing); current_tokens: name -> the token its
    stored secret reads through acl/token/self (or None: no secret, or one Nomad refuses). Policies are
    compared by rules (trimmed) and description; tokens by type and policy set, and a known token is updated
    in place, so its secret never changes.
    """
    plan = {"create_policies": [], "update_policies": [], "create_tokens": [], "update_tokens": []}
    for policy in wanted_policies:
        have = current_policies.get(policy["name"])
        if have is None:
            plan["create_policies"].append(policy)
        elif (have.get("Rules") or "").strip() != policy["rules"].strip() or (
            have.get("Description") or ""
        ) != (policy.get("description") or ""):
            plan["update_policies"].append(policy)
    for token in wanted_tokens:
        have = current_tokens.get(token["name"])
        if have is None:
            plan["create_tokens"].append(token)
        elif have.get("Type") != "client" or sorted(have.get("Policies") or []) != sorted(token["policies"]):
            plan["update_tokens"].append(dict(token, accessor_id=have["AccessorID"]))
    return plan
