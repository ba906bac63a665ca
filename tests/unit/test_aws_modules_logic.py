"""Pure logic of the AWS modules: which service tags an ARN, what a tag change sets and removes, CloudWatch's
validation messages as text, ECR's names and login tokens."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build"))  # ansible_collections/mlops/stack -> the checkout

from ansible_collections.mlops.stack.plugins.modules.aws_resource_tags import plan, service_of  # noqa: E402
from ansible_collections.mlops.stack.plugins.modules.cloudwatch_dashboard import errors  # noqa: E402
from ansible_collections.mlops.stack.plugins.modules.ecr_image_info import check_params, login  # noqa: E402


def test_service_of_an_arn():
    assert service_of("arn:aws:ecr:us-east-1:123456789012:repository/c/ml-training") == "ecr"
    assert service_of("arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:c-cpu") == "cloudwatch"


@pytest.mark.parametrize(
    ("arn", "words"),
    [("c/ml-training", "is not an ARN"), ("arn:aws:sns:us-east-1:123456789012:c-alarms", "belongs to sns")],
)
def test_service_of_names_the_field(arn, words):
    with pytest.raises(ValueError, match=f"^resource: .*{words}"):
        service_of(arn)


def test_plan_sets_only_what_differs_and_purges_on_request():
    current = {"a": "1", "b": "2", "other": "x"}
    wanted = {"a": "1", "b": "3", "c": "4"}
    assert plan(current, wanted, purge=False) == ({"b": "3", "c": "4"}, [])
    assert plan(current, wanted, purge=True) == ({"b": "3", "c": "4"}, ["other"])
    assert plan(wanted, wanted, purge=True) == ({}, [])


def test_validation_messages_as_text():
    messages = [{"DataPath": "/widgets/0/properties", "Message": "Should have property metrics"}, {"Message": "x"}]
    assert errors(messages) == ["/widgets/0/properties: Should have property metrics", "x"]


ECR = {"repository": "mlops/ml-training", "tag": "3f2a9c0d11be", "registry_id": None}


def test_ecr_names_ecr_accepts():
    check_params(ECR)
    check_params({**ECR, "repository": "a.b_c-d/e/f", "tag": "v1.0_rc-2", "registry_id": "123456789012"})


@pytest.mark.parametrize(
    ("field", "value"),
    [("repository", "Mlops/training"), ("repository", "mlops//training"), ("repository", "mlops/"),
     ("repository", "a"), ("repository", "x" * 257), ("tag", "-dash"), ("tag", "a" * 129), ("tag", "a:b"),
     ("registry_id", "12345")],
)  # fmt: skip
def test_ecr_names_ecr_refuses_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"^{field}: "):
        check_params({**ECR, field: value})


def test_a_login_token_is_user_and_password():
    assert login("QVdTOnNlY3JldDp3aXRoOmNvbG9ucw==") == ("AWS", "secret:with:colons")
