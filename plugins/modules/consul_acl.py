#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""consul_acl: bootstrap Consul's ACL system and keep its policies and tokens, in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: consul_acl
short_description: Bootstrap Consul's ACL system and keep a set of policies and tokens, in one module run
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Bootstraps the ACL system with a chosen management token (once; a cluster bootstrapped before answers 403 and is
    left alone), then reads all policies and all tokens with the two list endpoints and creates or updates only
    those that differ from the wanted ones. An unchanged cluster costs three requests, whatever the number of tokens.
  - Policies are keyed by name. Their rules are compared through a fingerprint kept in the description
    (the list endpoint returns descriptions, not rules); a policy whose rules changed here is updated.
  - Tokens are keyed by accessor id and created with the given secret id, so agents can carry theirs before the
    token exists. Description, policies and node identities of an existing token are updated when they differ;
    its secret is never changed.
  - Community.general's C(consul_policy) and C(consul_token) modules make one module run per policy or token
    and cannot bootstrap; this module serves the platform's case in one.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  url:
    description: Consul's HTTP API.
    type: str
    default: http://127.0.0.1:8500
  token:
    description: The management token (also the bootstrap secret).
    type: str
    required: true
  bootstrap:
    description: Try to bootstrap the ACL system with O(token) first.
    type: bool
    default: false
  token_origin:
    description: Where the management token comes from (a variable or file name), for the error message when
      Consul refuses it. Never the token itself.
    type: str
    default: the management token
  ca_path:
    description: CA bundle for an HTTPS O(url).
    type: path
  validate_certs:
    description: Verify an HTTPS O(url)'s certificate.
    type: bool
    default: true
  timeout:
    description: Seconds per request.
    type: int
    default: 30
  leader_timeout:
    description:
      - Seconds to keep repeating a request that Consul answers with "no leader" (HTTP 500 while the servers elect
        one, for example right after a server stopped), before failing with that answer.
    type: int
    default: 60
  policies:
    description: Policies to keep.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Policy name.
        type: str
        required: true
      rules:
        description: HCL rules.
        type: str
        required: true
      description:
        description: Description (a fingerprint of the rules is appended).
        type: str
  tokens:
    description: Tokens to keep.
    type: list
    elements: dict
    default: []
    suboptions:
      accessor_id:
        description: The token's accessor id (UUID).
        type: str
        required: true
      secret_id:
        description: The token's secret (UUID); used only when the token is created.
        type: str
        required: true
      description:
        description: Description.
        type: str
        required: true
      policies:
        description: Names of the token's policies.
        type: list
        elements: str
        default: []
      node_identities:
        description: Node identities (C(node_name), C(datacenter)).
        type: list
        elements: dict
        default: []
attributes:
  check_mode:
    support: full
    details: Reads the lists and reports what it would create or update.
  diff_mode:
    support: full
    details: The names of the policies and the descriptions of the tokens, never their secrets.
  platform:
    platforms: posix
notes:
  - In check mode nothing is written; a cluster that is not bootstrapped yet is reported as to be bootstrapped,
    with every policy and token to be created.
"""

EXAMPLES = r"""
- name: Bootstrap the ACL system and keep the service tokens
  mlops.stack.consul_acl:
    token: "{{ management_token }}"
    bootstrap: true
    policies:
      - name: monitoring
        rules: 'service_prefix "" { policy = "write" }'
    tokens:
      - accessor_id: 7c6e4bd0-7e2a-4f3c-9c55-5e2b7a0d2e11
        secret_id: "{{ monitoring_token }}"
        description: monitoring token
        policies: [monitoring]
  no_log: true
"""

RETURN = r"""
bootstrapped:
  description: Whether this run bootstrapped the ACL system (or would, in check mode).
  returned: always
  type: bool
created_policies:
  description: Names of the policies created.
  returned: always
  type: list
  elements: str
updated_policies:
  description: Names of the policies updated.
  returned: always
  type: list
  elements: str
created_tokens:
  description: Descriptions of the tokens created (never their secrets).
  returned: always
  type: list
  elements: str
updated_tokens:
  description: Descriptions of the tokens updated.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlops.stack.plugins.module_utils.consul import (
    ConsulAPIError,
    ConsulClient,
    acl_plan,
    policy_description,
    token_body,
)

REFUSED = ("Consul at {url} refuses {origin} (HTTP 403): either the cluster has no leader yet, or its ACL system "
           "was bootstrapped with another token. Restore that token (or reset the ACL bootstrap, see Consul's "
           "acl-bootstrap reset) and run again.")


def main():
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "default": "http://127.0.0.1:8500"},
            "token": {"type": "str", "required": True, "no_log": True},
            "bootstrap": {"type": "bool", "default": False},
            "token_origin": {"type": "str", "default": "the management token", "no_log": False},
            "ca_path": {"type": "path"},
            "validate_certs": {"type": "bool", "default": True},
            "timeout": {"type": "int", "default": 30},
            "leader_timeout": {"type": "int", "default": 60},
            "policies": {"type": "list", "elements": "dict", "default": [], "options": {
                "name": {"type": "str", "required": True},
                "rules": {"type": "str", "required": True},
                "description": {"type": "str"},
            }},
            # Only their secret_id is secret.
            "tokens": {"type": "list", "elements": "dict", "default": [], "no_log": False, "options": {
                "accessor_id": {"type": "str", "required": True},
                "secret_id": {"type": "str", "required": True, "no_log": True},
                "description": {"type": "str", "required": True},
                "policies": {"type": "list", "elements": "str", "default": []},
                "node_identities": {"type": "list", "elements": "dict", "default": []},
            }},
        },
        supports_check_mode=True,
    )
    p = module.params
    client = ConsulClient(p["url"], p["token"], p["ca_path"], p["validate_certs"], p["timeout"], p["leader_timeout"])
    result = {"changed": False, "bootstrapped": False, "created_policies": [], "updated_policies": [],
              "created_tokens": [], "updated_tokens": []}
    for token in p["tokens"]:
        for identity in token["node_identities"]:
            if not identity.get("node_name") or not identity.get("datacenter"):
                module.fail_json(msg="tokens: %r: every node identity needs node_name and datacenter"
                                 % token["description"], **result)
    try:
        listed = None
        if p["bootstrap"]:
            if module.check_mode:
                try:
                    listed = client.request("GET", "acl/policies")
                except ConsulAPIError as error:
                    if error.status != 403:
                        raise
                    result["bootstrapped"] = True  # would be: nothing can be read before
            else:
                try:
                    client.request("PUT", "acl/bootstrap", {"BootstrapSecret": p["token"]})
                    result["bootstrapped"] = True
                except ConsulAPIError as error:
                    if error.status != 403:  # 403: bootstrapped before
                        raise
        if result["bootstrapped"] and module.check_mode:
            policies, tokens = [], []
        else:
            try:
                policies = listed if listed is not None else client.request("GET", "acl/policies")
                tokens = client.request("GET", "acl/tokens")
            except ConsulAPIError as error:
                if error.status == 403:
                    module.fail_json(msg=REFUSED.format(url=p["url"], origin=p["token_origin"]), **result)
                raise
        plan = acl_plan(policies or [], tokens or [], p["policies"], p["tokens"])
        result["created_policies"] = [x["name"] for x in plan["create_policies"]]
        result["updated_policies"] = [x["name"] for x in plan["update_policies"]]
        result["created_tokens"] = [x["description"] for x in plan["create_tokens"]]
        result["updated_tokens"] = [x["description"] for x in plan["update_tokens"]]
        result["changed"] = result["bootstrapped"] or any(plan.values())
        if module._diff:
            result["diff"] = {
                "before": "policies: %s\ntokens: %s\n" % (sorted(x.get("Name", "") for x in policies or []),
                                                          sorted(x.get("Description", "") for x in tokens or [])),
                "after": "policies: %s\ntokens: %s\n" % (sorted(x["name"] for x in p["policies"]),
                                                         sorted(x["description"] for x in p["tokens"])),
            }
        if module.check_mode:
            module.exit_json(**result)
        # Policies first: tokens name them.
        for policy in plan["create_policies"] + plan["update_policies"]:
            body = {"Name": policy["name"], "Description": policy_description(policy), "Rules": policy["rules"]}
            client.request("PUT", "acl/policy/%s" % policy["id"] if "id" in policy else "acl/policy", body)
        for token in plan["create_tokens"]:
            client.request("PUT", "acl/token", dict(token_body(token), SecretID=token["secret_id"]))
        for token in plan["update_tokens"]:
            client.request("PUT", "acl/token/%s" % token["accessor_id"], token_body(token))
    except ConsulAPIError as error:
        module.fail_json(msg=str(error), status=error.status, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
