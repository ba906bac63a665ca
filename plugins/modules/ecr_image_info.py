#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find an image's digest in an ECR repository by tag, and optionally a push login for the registry."""

from __future__ import annotations

DOCUMENTATION = r"""
module: ecr_image_info
short_description: The digest of an image tag in an ECR repository, and a login to push there
description:
  - Reads the repository (its URI and registry) and the digest the image with O(tag) has there, if the repository
    holds that tag.
  - With O(authorization=true), also returns a Docker login for the registry made from the caller's credentials
    (C(ecr:GetAuthorizationToken)), valid for 12 hours. Run it on the controller, and set C(no_log) on the task,
    as the password is returned as is, for C(community.docker.docker_login) to use.
  - Reads only; it never changes anything, in check mode or not.
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
options:
  repository:
    description: The repository's name, for example C(mlops/ml-training).
    type: str
    required: true
  tag:
    description: The image tag to look for.
    type: str
    required: true
  registry_id:
    description: The AWS account of the registry; the caller's by default.
    type: str
  authorization:
    description: Also return a login for the registry (then set C(no_log) on the task).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Look for the training image, with a login in case it must be pushed
  mlops.stack.ecr_image_info:
    repository: mlops/ml-training
    tag: 3f2a9c0d11be
    authorization: true
  delegate_to: localhost
  run_once: true
  no_log: true
  register: ecr
"""

RETURN = r"""
registry:
  description: The registry's host name, as Docker names it.
  returned: always
  type: str
  sample: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
repository_uri:
  description: The repository, as Docker names it.
  returned: always
  type: str
  sample: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops/ml-training
exists:
  description: Whether the repository holds an image with O(tag).
  returned: always
  type: bool
digest:
  description: The image's manifest digest, empty when the tag is not there.
  returned: always
  type: str
  sample: sha256:4f1d...
username:
  description: The login's user name (C(AWS)).
  returned: when O(authorization=true)
  type: str
password:
  description: The login's password (a token valid for 12 hours).
  returned: when O(authorization=true)
  type: str
expires_at:
  description: When the login expires (ISO 8601).
  returned: when O(authorization=true)
  type: str
"""

import base64
import contextlib
import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

# ECR's own rules (CreateRepository, PutImage).
REPOSITORY = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
ACCOUNT = re.compile(r"^[0-9]{12}$")


def check_params(params: dict) -> None:
    """Raise ValueError naming the first parameter ECR would refuse."""
    repository = params["repository"]
    if not 2 <= len(repository) <= 256 or not REPOSITORY.match(repository):
        raise ValueError(f"repository: {repository!r} is not an ECR repository name (lower case, digits, . _ - /)")
    if not TAG.match(params["tag"]):
        raise ValueError(f"tag: {params['tag']!r} is not an image tag (up to 128 of A-Z a-z 0-9 _ . -)")
    if params["registry_id"] is not None and not ACCOUNT.match(params["registry_id"]):
        raise ValueError(f"registry_id: {params['registry_id']!r} is not an AWS account id (12 digits)")


def login(token: str) -> tuple[str, str]:
    """(username, password) from an authorization token (base64 of "user:password")."""
    username, _colon, password = base64.b64decode(token).decode().partition(":")
    return username, password


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "repository": {"type": "str", "required": True},
            "tag": {"type": "str", "required": True},
            "registry_id": {"type": "str"},
            "authorization": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        check_params(params)
    except ValueError as e:
        module.fail_json(msg=str(e))
    account = {"registryId": params["registry_id"]} if params["registry_id"] else {}
    client = module.client("ecr")
    errors = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)
    try:
        (repository,) = client.describe_repositories(repositoryNames=[params["repository"]], **account)["repositories"]
    except client.exceptions.RepositoryNotFoundException:
        module.fail_json(msg=f"repository: {params['repository']} does not exist in the registry")
    except errors as e:
        module.fail_json_aws(e, msg=f"Could not read the repository {params['repository']}")
    result = {
        "changed": False,
        "registry": repository["repositoryUri"].split("/", 1)[0],
        "repository_uri": repository["repositoryUri"],
        "exists": False,
        "digest": "",
    }
    try:
        images = client.describe_images(
            repositoryName=params["repository"], imageIds=[{"imageTag": params["tag"]}], **account
        )["imageDetails"]
    except client.exceptions.ImageNotFoundException:
        images = []
    except errors as e:
        module.fail_json_aws(e, msg=f"Could not look for {params['repository']}:{params['tag']}")
    if images:
        result.update(exists=True, digest=images[0]["imageDigest"])
    if params["authorization"]:
        try:
            (data,) = client.get_authorization_token(**({"registryIds": [params["registry_id"]]} if account else {}))[
                "authorizationData"
            ]
        except errors as e:
            module.fail_json_aws(e, msg="Could not get a login for the registry (ecr:GetAuthorizationToken)")
        result["username"], result["password"] = login(data["authorizationToken"])
        result["expires_at"] = data["expiresAt"].isoformat()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
