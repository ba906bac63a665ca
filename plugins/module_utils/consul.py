# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for the Consul HTTP API, and the ACL plan of module consul_acl (pure logic)."""

from __future__ import annotations

import hashlib

from ansible_collections.mlops.stack.plugins.module_utils._http import APIError, request_json, with_retries


class ConsulAPIError(APIError):
    """A failed Consul API request: status is None when Consul could not be reached."""

    service = "Consul"


def leaderless(error):
    """Consul's 500 while the servers elect a leader ("No cluster leader", "Raft leader not found ..."), or while
    a server still forwards to a leader that has just gone ("rpc error getting client: failed to get conn ...")."""
    message = (error.message or "").lower()
    return error.status == 500 and ("leader" in message or "rpc error getting client" in message)


class ConsulClient:
    """Requests to one agent; a request made while the cluster has no leader is repeated for leader_timeout s."""

    def __init__(self, url, token=None, ca_path=None, validate_certs=True, timeout=30, leader_timeout=60):
        self.url = url.rstrip("/")
        self.token = token
        self.tls = {"ca_path": ca_path, "validate_certs": validate_certs, "timeout": timeout}
        self.leader_timeout = leader_timeout

    def request(self, method, path, body=None, missing_ok=False):
        headers = {"X-Consul-Token": self.token} if self.token else {}
        url = "%s/v1/%s" % (self.url, path.lstrip("/"))
        return with_retries(
            lambda: request_json(ConsulAPIError, method, url, headers=headers, body=body, missing_ok=missing_ok,
                                 **self.tls),
            leaderless, self.leader_timeout)


def rules_mark(rules):
    """A fingerprint of a policy's rules, kept in its description: the list endpoint returns
    descriptions but not rules, so one request shows which policies are current."""
    return "[rules sha256:%s]" % hashlib.sha256(rules.strip().encode("utf-8")).hexdigest()[:16]


def policy_description(policy):
    text = policy.get("description") or "policy of the %s token (mlops.stack)" % policy["name"]
    return "%s %s" % (text, rules_mark(policy["rules"]))


def token_body(token):
    body = {"AccessorID": token["accessor_id"], "Description": token["description"],
            "Policies": [{"Name": name} for name in sorted(token.get("policies") or [])],
            "NodeIdentities": [{"NodeName": n["node_name"], "Datacenter": n["datacenter"]}
                               for n in token.get("node_identities") or []]}
    return body


def _token_shape(body):
    """What is compared of a token: description, policy names, node identities."""
    return (body.get("Description") or "",
            sorted(p.get("Name", "") for p in body.get("Policies") or []),
            sorted((n.get("NodeName"), n.get("Datacenter")) for n in body.get("NodeIdentities") or []))


def acl_plan(existing_policies, existing_tokens, policies, tokens):
    """What to create and update, from the two list endpoints' answers and the wanted policies and tokens.

    Returns a dict: create_policies, update_policies (each: the wanted policy, plus "id" for updates),
    create_tokens, update_tokens (the wanted tokens). Policies are keyed by name, tokens by accessor id.
    """
    by_name = {p.get("Name"): p for p in existing_policies or []}
    by_accessor = {t.get("AccessorID"): t for t in existing_tokens or []}
    plan = {"create_policies": [], "update_policies": [], "create_tokens": [], "update_tokens": []}
    for policy in policies:
        found = by_name.get(policy["name"])
        if found is None:
            plan["create_policies"].append(policy)
        elif found.get("Description") != policy_description(policy):
            plan["update_policies"].append(dict(policy, id=found["ID"]))
    for token in tokens:
        found = by_accessor.get(token["accessor_id"])
        if found is None:
            plan["create_tokens"].append(token)
        elif _token_shape(found) != _token_shape(token_body(token)):
            plan["update_tokens"].append(token)
    return plan
