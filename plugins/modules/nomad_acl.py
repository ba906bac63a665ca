#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nomad_acl: bootstrap Nomad's ACL system and keep its policies and client tokens, in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: nomad_acl
short_description: Bootstrap Nomad's ACL system and keep a set of policies and client tokens, in one module run
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Checks O(token) (the management token, required here) and, with O(bootstrap), bootstraps the ACL system
    with it as the bootstrap secret when Nomad does not know it yet, waiting up to O(bootstrap_timeout) for a
    leader.
    A cluster bootstrapped before with another token is reported, never reset.
  - Then reads each wanted policy and checks each stored token secret, and creates or updates only what
    differs. An unchanged cluster costs one request per policy and per token, in one module run.
  - Tokens are keyed by name and their secrets are kept by the caller (Nomad chooses them). A token whose
    stored secret Nomad refuses (or that has none) is created, and its secret is returned in RV(secrets); a
    token whose policies changed is updated in place, its secret unchanged.
  - Community.general's C(nomad_token) module makes one module run per token, needs the python-nomad library and
    cannot keep policies; this module serves the platform's case in one run with the collection's HTTP client.
extends_documentation_fragment:
  - mlops.stack.nomad
  - ansible.builtin.action_common_attributes
options:
  bootstrap:
    description: Bootstrap the ACL system with O(token) as its secret when Nomad does not accept O(token) yet.
    type: bool
    default: false
  bootstrap_timeout:
    description: Seconds to wait for a leader (Nomad answers 500 without one) or for an API that is starting.
    type: int
    default: 60
  token_origin:
    description: Where the management token comes from (a variable or file name), for the error message when
      Nomad refuses it. Never the token itself.
    type: str
    default: the management token
  policies:
    description: Policies to keep, by name.
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
        description: Description.
        type: str
  tokens:
    description: Client tokens to keep, by name.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Token name.
        type: str
        required: true
      policies:
        description: Names of the token's policies.
        type: list
        elements: str
        required: true
      secret_id:
        description: The secret stored for this token by an earlier run; empty when there is none.
        type: str
        default: ""
attributes:
  check_mode:
    support: full
    details: Reads and reports what it would bootstrap, create or update.
  diff_mode:
    support: full
    details: The names of the policies and tokens to write, never their secrets.
  platform:
    platforms: posix
notes:
  - RV(secrets) holds new token secrets; run the task with C(no_log=true).
  - In check mode nothing is written; a cluster that does not accept O(token) yet is reported as to be
    bootstrapped, with every policy and token to be created.
"""

EXAMPLES = r"""
- name: Bootstrap the ACL system and keep the monitoring token
  mlops.stack.nomad_acl:
    token: "{{ management_token }}"
    bootstrap: true
    policies:
      - name: prometheus
        rules: 'node { policy = "read" }'
    tokens:
      - name: prometheus
        policies: [prometheus]
        secret_id: "{{ lookup('file', 'secrets/prometheus.token', errors='ignore') | default('', true) }}"
  register: acl
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
  description: Names of the tokens created.
  returned: always
  type: list
  elements: str
updated_tokens:
  description: Names of the tokens updated.
  returned: always
  type: list
  elements: str
secrets:
  description: The secrets of the tokens created, by name (empty in check mode). Keep them; they are not shown again.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlops.stack.plugins.module_utils._http import with_retries
from ansible_collections.mlops.stack.plugins.module_utils.nomad import (
    NomadAPIError,
    NomadClient,
    acl_plan,
    nomad_argument_spec,
)

REFUSED = ("The ACL system of the Nomad cluster at {url} was bootstrapped before with another management token "
           "than {origin} (Nomad says: {message}). Restore that token, or reset the bootstrap (nomad acl "
           "bootstrap, reset index), and run again.")


def not_ready(error):
    """500: no leader yet; None: the API is not up yet."""
    return error.status in (500, None)


def management_state(module, client):
    """'known' when Nomad accepts the management token, 'unknown' when it does not know it (yet)."""
    try:
        with_retries(lambda: client.request("GET", "acl/token/self"), not_ready, module.params["bootstrap_timeout"])
        return "known"
    except NomadAPIError as error:
        if error.status in (403, 404):
            return "unknown"
        raise


def bootstrap(module, client):
    try:
        with_retries(lambda: client.request("POST", "acl/bootstrap", {"BootstrapSecret": module.params["token"]}),
                     not_ready, module.params["bootstrap_timeout"])
    except NomadAPIError as error:
        if error.status == 400 and "bootstrap already done" in error.message.lower():
            module.fail_json(msg=REFUSED.format(url=client.address, origin=module.params["token_origin"],
                                                message=error.message))
        raise


def main():
    spec = nomad_argument_spec()
    spec.update(
        bootstrap={"type": "bool", "default": False},
        bootstrap_timeout={"type": "int", "default": 60},
        token_origin={"type": "str", "default": "the management token", "no_log": False},
        policies={"type": "list", "elements": "dict", "default": [], "options": {
            "name": {"type": "str", "required": True},
            "rules": {"type": "str", "required": True},
            "description": {"type": "str"},
        }},
        # Only their secret_id is secret.
        tokens={"type": "list", "elements": "dict", "default": [], "no_log": False, "options": {
            "name": {"type": "str", "required": True},
            "policies": {"type": "list", "elements": "str", "required": True},
            "secret_id": {"type": "str", "default": "", "no_log": True},
        }},
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    if not p["token"]:
        module.fail_json(msg="token: the management token is required (or NOMAD_TOKEN in the environment)")
    names = [x["name"] for x in p["tokens"]]
    for field in ("policies", "tokens"):
        seen = [x["name"] for x in p[field]]
        twice = sorted({name for name in seen if seen.count(name) > 1})
        if twice:
            module.fail_json(msg="%s: each name once; given more than once: %s" % (field, ", ".join(twice)))
    client = NomadClient(p)
    result = {"changed": False, "bootstrapped": False, "created_policies": [], "updated_policies": [],
              "created_tokens": [], "updated_tokens": [], "secrets": {}}
    try:
        if management_state(module, client) == "unknown":
            if not p["bootstrap"]:
                module.fail_json(msg="Nomad at %s does not accept %s (HTTP 403)." % (client.address, p["token_origin"]),
                                 **result)
            if not module.check_mode:
                bootstrap(module, client)
            result["bootstrapped"] = True
        if result["bootstrapped"] and module.check_mode:
            current_policies, current_tokens = {}, {}  # nothing can be read before the bootstrap
        else:
            current_policies = {x["name"]: client.request("GET", "acl/policy/%s" % x["name"], missing_ok=True)
                                for x in p["policies"]}
            current_tokens = {}
            for token in p["tokens"]:
                if token["secret_id"]:
                    reader = NomadClient(dict(p, token=token["secret_id"]))
                    try:
                        current_tokens[token["name"]] = reader.request("GET", "acl/token/self")
                    except NomadAPIError as error:
                        if error.status not in (403, 404):  # 403: a secret Nomad does not know
                            raise
        plan = acl_plan(current_policies, p["policies"], current_tokens, p["tokens"])
        result["created_policies"] = [x["name"] for x in plan["create_policies"]]
        result["updated_policies"] = [x["name"] for x in plan["update_policies"]]
        result["created_tokens"] = [x["name"] for x in plan["create_tokens"]]
        result["updated_tokens"] = [x["name"] for x in plan["update_tokens"]]
        result["changed"] = result["bootstrapped"] or any(plan.values())
        if module._diff:
            result["diff"] = {
                "before": "policies: %s\ntokens: %s\n" % (sorted(k for k, v in current_policies.items() if v),
                                                          sorted(current_tokens)),
                "after": "policies: %s\ntokens: %s\n" % (sorted(x["name"] for x in p["policies"]), sorted(names)),
            }
        if module.check_mode:
            module.exit_json(**result)
        # Policies first: tokens name them.
        for policy in plan["create_policies"] + plan["update_policies"]:
            client.request("POST", "acl/policy/%s" % policy["name"],
                           {"Name": policy["name"], "Description": policy.get("description") or "",
                            "Rules": policy["rules"]})
        for token in plan["update_tokens"]:
            client.request("POST", "acl/token/%s" % token["accessor_id"],
                           {"AccessorID": token["accessor_id"], "Name": token["name"], "Type": "client",
                            "Policies": token["policies"]})
        for token in plan["create_tokens"]:
            created = client.request("POST", "acl/token",
                                     {"Name": token["name"], "Type": "client", "Policies": token["policies"]})
            result["secrets"][token["name"]] = created["SecretID"]
    except NomadAPIError as error:
        module.fail_json(msg=str(error), status=error.status, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
