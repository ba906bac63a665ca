"""cloudwatch_dashboard, aws_resource_tags and ecr_image_info against moto's AWS emulator: honest changed, check
mode, diff, bad input named and nothing written."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from botocore.config import Config
from modules import run_tasks

REGION = "us-east-1"
KEYS = {"access_key": "testing", "secret_key": "testing", "region": REGION}  # the emulator's fake keys
CPU = ["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", "c-clients"]
BODY = {"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
                     "properties": {"title": "CPU", "region": REGION, "metrics": [CPU]}}]}  # fmt: skip


@pytest.fixture
def aws_env(moto_server, monkeypatch):
    """No AWS settings of this machine; the emulator on loopback bypasses any proxy."""
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    no_proxy = ",".join(filter(None, [os.environ.get("no_proxy", ""), "127.0.0.1", "localhost"]))
    monkeypatch.setenv("NO_PROXY", no_proxy)
    monkeypatch.setenv("no_proxy", no_proxy)

    def client(service):
        return boto3.client(service, endpoint_url=moto_server, region_name=REGION, config=Config(proxies={}),
                            aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106 (fake keys)

    return {**KEYS, "endpoint_url": moto_server}, client


def dashboard(connection, **args):
    return {"module": "cloudwatch_dashboard", "args": {**connection, "name": "mlops-stack-c", **args}}


def test_dashboard_changed_only_when_the_body_differs(aws_env, tmp_path):
    connection, client = aws_env
    reordered = json.loads(json.dumps(BODY), object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    wider = {"widgets": [{**BODY["widgets"][0], "width": 24}]}
    check_new, created, same, check_wider, wider_run, refused, check_gone, gone, gone_again = run_tasks([
        {**dashboard(connection, body=BODY), "check": True},
        dashboard(connection, body=BODY),
        dashboard(connection, body=reordered),  # key order is not a difference
        {**dashboard(connection, body=wider), "check": True, "diff": True},
        {**dashboard(connection, body=wider), "diff": True},
        dashboard(connection, name="no spaces allowed", body=BODY),
        {**dashboard(connection, state="absent"), "check": True},
        dashboard(connection, state="absent"),
        dashboard(connection, state="absent"),
    ], tmp_path)  # fmt: skip
    assert check_new["changed"] and "dashboard_arn" not in check_new, check_new
    assert created["changed"] and created["dashboard_arn"].endswith(":dashboard/mlops-stack-c"), created
    assert not same["changed"], same
    for result in (check_wider, wider_run):
        assert result["changed"], result
        assert '"width": 12' in result["diff"]["before"] and '"width": 24' in result["diff"]["after"], result
    assert refused["failed"] and refused["msg"].startswith("name:"), refused
    assert check_gone["changed"] and gone["changed"] and not gone_again["changed"], (check_gone, gone, gone_again)
    assert client("cloudwatch").list_dashboards()["DashboardEntries"] == []


def test_dashboard_check_mode_writes_nothing(aws_env, tmp_path):
    connection, client = aws_env
    (check,) = run_tasks([{**dashboard(connection, name="never-written", body=BODY), "check": True}], tmp_path)
    assert check["changed"], check
    assert [d["DashboardName"] for d in client("cloudwatch").list_dashboards()["DashboardEntries"]] == []


def test_tags_of_a_repository_and_an_alarm(aws_env, tmp_path):
    connection, client = aws_env
    ecr, cloudwatch = client("ecr"), client("cloudwatch")
    repository = ecr.create_repository(repositoryName="c/ml-training", tags=[{"Key": "owner", "Value": "ops"}])[
        "repository"]["repositoryArn"]  # fmt: skip
    cloudwatch.put_metric_alarm(AlarmName="c-cpu", MetricName="CPUUtilization", Namespace="AWS/EC2", Period=300,
                                EvaluationPeriods=1, Threshold=80, ComparisonOperator="GreaterThanThreshold",
                                Statistic="Average")  # fmt: skip
    (alarm,) = [a["AlarmArn"] for a in cloudwatch.describe_alarms(AlarmNames=["c-cpu"])["MetricAlarms"]]
    wanted = {"mlops-stack:cluster": "c"}

    def tag(resource, check=False, **args):
        return {"module": "aws_resource_tags", "args": {**connection, "resource": resource, "tags": wanted, **args},
                "check": check, "diff": True}

    results = run_tasks([
        tag(repository, check=True), tag(repository), tag(repository),
        tag(alarm), tag(alarm), tag(repository, purge_tags=True),
        tag(repository.replace(":ecr:", ":sns:")),
    ], tmp_path)  # fmt: skip
    check, first, again, alarm_first, alarm_again, purged, foreign = results
    assert check["changed"] and check["added"] == wanted, check
    assert first["changed"] and first["tags"] == {"owner": "ops", **wanted}, first
    assert first["diff"] == {"before": {"tags": {"owner": "ops"}}, "after": {"tags": {"owner": "ops", **wanted}}}
    assert not again["changed"], again
    assert alarm_first["changed"] and not alarm_again["changed"], (alarm_first, alarm_again)
    assert purged["changed"] and purged["removed"] == ["owner"], purged
    assert foreign["failed"] and foreign["msg"].startswith("resource:") and "sns" in foreign["msg"], foreign
    assert {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=repository)["tags"]} == wanted
    assert {t["Key"]: t["Value"] for t in cloudwatch.list_tags_for_resource(ResourceARN=alarm)["Tags"]} == wanted


def test_ecr_image_digest_by_tag_and_a_push_login(aws_env, tmp_path):
    connection, client = aws_env
    ecr = client("ecr")
    uri = ecr.create_repository(repositoryName="e/ml-training")["repository"]["repositoryUri"]
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                           "digest": "sha256:" + "1" * 64}, "layers": []}  # fmt: skip
    ecr.put_image(repositoryName="e/ml-training", imageManifest=json.dumps(manifest), imageTag="3f2a9c0d11be")
    (stored,) = ecr.describe_images(repositoryName="e/ml-training")["imageDetails"]

    def look(check=False, **args):
        return {"module": "ecr_image_info", "check": check,
                "args": {**connection, "repository": "e/ml-training", "tag": "3f2a9c0d11be", **args}}

    found, missing, checked, login, bad_name, bad_tag, absent = run_tasks([
        look(), look(tag="not-pushed-yet"), look(check=True), look(authorization=True),
        look(repository="C/Ml Training"), look(tag="-leading-dash"), look(repository="c/none"),
    ], tmp_path)  # fmt: skip
    for result in (found, checked):
        assert not result["changed"] and result["exists"], result
        assert result["digest"] == stored["imageDigest"] and result["digest"].startswith("sha256:"), result
        assert result["repository_uri"] == uri and result["registry"] == uri.split("/")[0], result
        assert "password" not in result, result
    assert (missing["exists"], missing["digest"], missing["changed"]) == (False, "", False), missing
    assert login["username"] == "AWS" and login["password"] and login["expires_at"], {**login, "password": "*"}
    assert bad_name["failed"] and bad_name["msg"].startswith("repository: 'C/Ml Training'"), bad_name
    assert bad_tag["failed"] and bad_tag["msg"].startswith("tag:"), bad_tag
    assert absent["failed"] and absent["msg"] == "repository: c/none does not exist in the registry", absent
    assert len(ecr.describe_images(repositoryName="e/ml-training")["imageDetails"]) == 1
