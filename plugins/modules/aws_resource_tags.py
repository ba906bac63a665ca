#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set the tags of an AWS resource whose own module cannot (ECR repositories, CloudWatch alarms)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_resource_tags
short_description: Set the tags of an ECR repository or a CloudWatch alarm
description:
  - C(community.aws.ecs_ecr) and C(amazon.aws.cloudwatch_metric_alarm) cannot tag what they create. This module sets
    the tags of such a resource, found by its ARN, through its own service's tagging API.
  - Only the tags that differ are written; a re-run reports no change.
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
options:
  resource:
    description: The resource's ARN (C(arn:aws:ecr:...:repository/...) or C(arn:aws:cloudwatch:...:alarm:...)).
    type: str
    required: true
  tags:
    description: The tags the resource must carry.
    type: dict
    required: true
  purge_tags:
    description: Remove the resource's other tags.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Tag the training image's repository
  mlops.stack.aws_resource_tags:
    resource: "{{ repository.repository.repositoryArn }}"
    tags:
      mlops-stack:cluster: mlops
"""

RETURN = r"""
tags:
  description: The resource's tags after the task.
  returned: always
  type: dict
added:
  description: The tags set or changed.
  returned: always
  type: dict
removed:
  description: The tag keys removed (with O(purge_tags)).
  returned: always
  type: list
  elements: str
"""

import contextlib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

# Each service names the same three calls' parameters in its own way.
SERVICES = {
    "ecr": {"arn": "resourceArn", "tags": "tags", "keys": "tagKeys"},
    "cloudwatch": {"arn": "ResourceARN", "tags": "Tags", "keys": "TagKeys"},
}


def service_of(arn: str) -> str:
    """The service an ARN belongs to, if this module can tag it."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"resource: {arn!r} is not an ARN")
    if parts[2] not in SERVICES:
        raise ValueError(f"resource: {arn!r} belongs to {parts[2]}; this module tags {', '.join(sorted(SERVICES))}")
    return parts[2]


def plan(current: dict, wanted: dict, purge: bool) -> tuple[dict, list]:
    """(tags to set, keys to remove) to go from current to wanted."""
    added = {k: v for k, v in wanted.items() if current.get(k) != v}
    removed = sorted(k for k in current if k not in wanted) if purge else []
    return added, removed


def as_list(tags: dict) -> list:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "resource": {"type": "str", "required": True},
            "tags": {"type": "dict", "required": True},
            "purge_tags": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    arn, wanted = module.params["resource"], {k: str(v) for k, v in module.params["tags"].items()}
    try:
        service = service_of(arn)
    except ValueError as e:
        module.fail_json(msg=str(e))
    names = SERVICES[service]
    client = module.client(service)
    try:
        listed = client.list_tags_for_resource(**{names["arn"]: arn})
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not read the tags of {arn}")
    current = {t["Key"]: t["Value"] for t in listed.get(names["tags"], [])}
    added, removed = plan(current, wanted, module.params["purge_tags"])
    after = {k: v for k, v in {**current, **added}.items() if k not in removed}
    if (added or removed) and not module.check_mode:
        try:
            if removed:
                client.untag_resource(**{names["arn"]: arn, names["keys"]: removed})
            if added:
                client.tag_resource(**{names["arn"]: arn, names["tags"]: as_list(added)})
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Could not tag {arn}")
    result = {"changed": bool(added or removed), "tags": after, "added": added, "removed": removed}
    if module._diff:
        result["diff"] = {"before": {"tags": current}, "after": {"tags": after}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
