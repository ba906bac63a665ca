"""Pure logic of the AWS modules: which service tags an ARN, what a tag change sets and removes, CloudWatch's
validation messages as text."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build"))  # ansible_collections/mlops/stack -> the checkout

from ansible_collections.mlops.stack.plugins.modules.aws_resource_tags import plan, service_of  # noqa: E402
from ansible_collections.mlops.stack.plugins.modules.cloudwatch_dashboard import errors  # noqa: E402


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
