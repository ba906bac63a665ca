#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, update or remove a CloudWatch dashboard, compared by its body."""

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudwatch_dashboard
short_description: Create, update or remove an Amazon CloudWatch dashboard
description:
  - Puts the dashboard only when its body differs from the one CloudWatch holds, compared as data (key order and
    whitespace do not count), so a re-run reports no change.
  - CloudWatch's validation messages fail the task.
  - Dashboards cannot carry tags; a dashboard is found by its name.
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
options:
  name:
    description: The dashboard's name (letters, digits, V(-) and V(_), at most 255).
    type: str
    required: true
  body:
    description:
      - The dashboard body, as data (C(widgets), and optionally C(start), C(periodOverride) ...).
      - Required with O(state=present).
    type: dict
  state:
    description: Whether the dashboard exists.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: A dashboard with one CPU graph
  mlops.stack.cloudwatch_dashboard:
    name: mlops-stack-mlops
    body:
      widgets:
        - type: metric
          x: 0
          y: 0
          width: 12
          height: 6
          properties:
            title: CPU
            region: us-east-1
            metrics: [[AWS/EC2, CPUUtilization, AutoScalingGroupName, mlops-clients]]

- name: Remove it
  mlops.stack.cloudwatch_dashboard:
    name: mlops-stack-mlops
    state: absent
"""

RETURN = r"""
dashboard_arn:
  description: The dashboard's ARN.
  returned: when the dashboard exists after the task (not in check mode for a new dashboard)
  type: str
body:
  description: The dashboard body after the task.
  returned: when O(state=present)
  type: dict
"""

import contextlib
import json
import re

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore


NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def current(client, name: str):
    """(arn, body) of the dashboard, or (None, None) when there is none."""
    try:
        found = client.get_dashboard(DashboardName=name)
    except is_boto3_error_code(["ResourceNotFound", "ResourceNotFoundException"]):
        return None, None
    return found["DashboardArn"], json.loads(found["DashboardBody"])


def errors(messages: list) -> list:
    """CloudWatch's validation messages as text, data path first."""
    return [f"{m.get('DataPath', '')}: {m.get('Message', '')}".strip(": ") for m in messages]


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "body": {"type": "dict"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        required_if=[("state", "present", ["body"])],
        supports_check_mode=True,
    )
    name, body, state = module.params["name"], module.params["body"], module.params["state"]
    if not NAME.match(name):
        module.fail_json(msg=f"name: {name!r} is not a dashboard name (letters, digits, - and _, at most 255)")
    if body is not None and not isinstance(body.get("widgets", []), list):
        module.fail_json(msg="body.widgets must be a list")
    client = module.client("cloudwatch")
    try:
        arn, before = current(client, name)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not read dashboard {name}")

    after = body if state == "present" else None
    changed = before != after
    result = {"changed": changed}
    if module._diff:
        result["diff"] = {
            "before": json.dumps(before, indent=2, sort_keys=True) + "\n" if before is not None else "",
            "after": json.dumps(after, indent=2, sort_keys=True) + "\n" if after is not None else "",
        }
    if changed and not module.check_mode:
        try:
            if state == "present":
                answer = client.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body, sort_keys=True))
                problems = errors(answer.get("DashboardValidationMessages", []))
                if problems:
                    module.fail_json(msg=f"CloudWatch refused dashboard {name}: " + "; ".join(problems))
                arn, _unused = current(client, name)
            else:
                client.delete_dashboards(DashboardNames=[name])
                arn = None
        except is_boto3_error_code("InvalidParameterInput") as e:
            module.fail_json_aws(e, msg=f"CloudWatch refused dashboard {name}")
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
            module.fail_json_aws(e, msg=f"Could not {'put' if state == 'present' else 'remove'} dashboard {name}")
    if state == "present":
        result["body"] = body
        if arn:
            result["dashboard_arn"] = arn
    module.exit_json(**result)


if __name__ == "__main__":
    main()
