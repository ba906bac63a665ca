"""ml_workload's ECR path, in check mode, against moto's AWS emulator and a Debian 13 host.

What an AWS site's run of the training image's tasks (inventories/aws names
the cluster's ECR repository) decides, before anything is pushed and after:
the tag is looked up on the controller with its credentials, never shown;
the client is set to pull through Amazon's credential helper (the package
and root's Docker configuration, 0600, with credHelpers for the registry);
the build is planned only while the repository lacks the tag; the job names
the image by the digest ECR stores. Check mode, because nothing here can
take a push for an ECR name (the emulator has no registry API): the push
and the pulls themselves are the local registry's, which the platform
scenario runs for real.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
REPOSITORY = "mlopstest/ml-training"
IMAGE = os.environ.get("MLOPS_IMAGE_PREFIX", "mlops-stack/debian") + ":13"

PLAY = [{
    "hosts": "mlops_clients", "gather_facts": False,
    "tasks": [
        {"name": "The training image's tasks", "ansible.builtin.include_role": {
            "name": "mlops.stack.ml_workload", "tasks_from": "image.yml", "public": True}},
        {"name": "What the job would run", "ansible.builtin.debug": {"msg": {
            "tag": "{{ __ml_workload_image_tag }}", "digest": "{{ __ml_workload_digest }}",
            "job_image": "{{ __ml_workload_job_image }}"}}},
    ],
}]  # fmt: skip


@pytest.fixture(scope="module")
def ecr_host():
    """A Debian 13 host (the base image, run plainly), reached through Docker."""
    name = f"mlops-ecr-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "run", "-d", "--rm", "--name", name, IMAGE, "sleep", "infinity"], check=True,
                   capture_output=True)  # fmt: skip
    yield name
    subprocess.run(["docker", "rm", "-f", name], check=False, capture_output=True)


@pytest.fixture(scope="module")
def ecr(moto_server):
    client = boto3.client("ecr", endpoint_url=moto_server, region_name=REGION, config=Config(proxies={}),
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106 (fake keys)
    return client, client.create_repository(repositoryName=REPOSITORY)["repository"]


def check_run(ecr_host, moto_server, registry, tmp_path):
    """site.yml's run of the image tasks on one client, in check mode with diff; (tasks by name, stdout)."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"mlops_clients": {"hosts": {ecr_host: {
        "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3",
        "ml_workload_registry": registry, "ml_workload_registry_repository": REPOSITORY}}}}))  # fmt: skip
    playbook = tmp_path / "image.yml"
    playbook.write_text(json.dumps(PLAY))
    # The debug task after the role reads the image's tag, which the role
    # makes from its own files: let the playbook find them the same way.
    if not (tmp_path / "files").exists():
        (tmp_path / "files").symlink_to(ROOT / "roles" / "ml_workload" / "files")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_URL=moto_server, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0",
    )  # fmt: skip
    env["NO_PROXY"] = env["no_proxy"] = ",".join(filter(None, [env.get("no_proxy", ""), "127.0.0.1", "localhost"]))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "--check", "--diff",
         str(playbook)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    tasks = {}
    for entry in json.loads(done.stdout)["plays"][0]["tasks"]:
        tasks.setdefault(entry["task"]["name"].removeprefix("mlops.stack.ml_workload : "), entry["hosts"][ecr_host])
    return tasks, done.stdout


def test_the_ecr_path_plans_a_push_only_while_the_repository_lacks_the_tag(ecr_host, moto_server, ecr, tmp_path):
    client, repository = ecr
    registry = repository["repositoryUri"].split("/")[0]
    before, output_before = check_run(ecr_host, moto_server, registry, tmp_path)
    tag = before["What the job would run"]["msg"]["tag"]
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                           "digest": "sha256:" + "2" * 64}, "layers": []}  # fmt: skip
    client.put_image(repositoryName=REPOSITORY, imageManifest=json.dumps(manifest), imageTag=tag)
    (stored,) = client.describe_images(repositoryName=REPOSITORY, imageIds=[{"imageTag": tag}])["imageDetails"]
    after, output_after = check_run(ecr_host, moto_server, registry, tmp_path)

    # The look-up ran on the controller; its result (with the push login) is never shown.
    for tasks in (before, after):
        lookup = tasks["Look for the training image in ECR, with a login to push it"]
        assert lookup.get("censored") and "password" not in lookup, lookup
        assert tasks["Look for the training image in the registry"].get("skip_reason"), "the local registry's look-up"
        # The client pulls with its instance role, through Amazon's helper; nothing of the local registry's.
        assert tasks["Install Amazon's ECR credential helper"]["changed"] is True
        assert "Look at the registry's CA and login" not in tasks, "the local registry's CA and login"
    token = client.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    password = base64.b64decode(token).decode().partition(":")[2]
    for output in (output_before, output_after):
        assert token not in output and password not in output
    config = before["Name the credential helper for the registry in it"]
    assert config["changed"] is True
    assert "diff" not in config or not config["diff"], "the configuration may hold logins: no diff shown"

    # Before the push: a build planned on the builder, the job's digest not known yet.
    assert before["What the job would run"]["msg"]["digest"] == ""
    assert before["Create the build folder"]["changed"] is True
    assert before["What the job would run"]["msg"]["job_image"] == f"{registry}/{REPOSITORY}@sha256:{'0' * 64}"
    # After: no build, and the job names ECR's digest.
    assert after["What the job would run"]["msg"]["digest"] == stored["imageDigest"]
    look_and_build = after["Look for the image here, and build it"]
    assert look_and_build.get("skip_reason"), look_and_build
    assert "Build the training image" not in after and "Create the build folder" not in after
    assert after["What the job would run"]["msg"]["job_image"] == f"{registry}/{REPOSITORY}@{stored['imageDigest']}"
