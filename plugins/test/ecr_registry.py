# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ecr_registry: whether a registry address is an Amazon ECR private registry."""

from __future__ import annotations

DOCUMENTATION = r"""
name: ecr_registry
short_description: Whether a registry address is an Amazon ECR private registry
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - True for C(<account>.dkr.ecr.<region>.amazonaws.com) (and C(.amazonaws.com.cn)), the address of an account's
    private ECR registry in a region.
  - The ml_workload role asks such a registry on the controller and lets the clients pull through Amazon's
    credential helper; the nomad role's default points Nomad's Docker driver at root's Docker configuration then.
options:
  _input:
    description: The registry address (C(host) or C(host:port)), without a repository.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Only for ECR
  ansible.builtin.debug:
    msg: the clients pull through Amazon's credential helper
  when: ml_workload_registry is mlops.stack.ecr_registry
"""

RETURN = r"""
_value:
  description: Whether it is an ECR registry.
  type: bool
"""

import re

_ECR = re.compile(r"[0-9]{12}[.]dkr[.]ecr[.][a-z0-9-]+[.]amazonaws[.]com([.]cn)?")


def ecr_registry(registry):
    return _ECR.fullmatch(str(registry)) is not None


class TestModule:
    def tests(self):
        return {"ecr_registry": ecr_registry}
