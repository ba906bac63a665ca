"""The ecr_registry test: whether a registry address is an account's private Amazon ECR registry."""

import pytest
from conftest import load_file

plugin = load_file("plugins/test/ecr_registry.py")


@pytest.mark.parametrize(
    ("registry", "ecr"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", True),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", True),
        ("e2e-monitoring-1:5000", False),
        ("", False),
        ("12345678901.dkr.ecr.eu-west-1.amazonaws.com", False),  # 11 digits: no account
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com:443", False),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops/training", False),  # a repository, not a registry
        ("public.ecr.aws", False),
    ],
)
def test_ecr_registry(registry, ecr):
    assert plugin.ecr_registry(registry) is ecr


def test_test_name():
    assert plugin.TestModule().tests() == {"ecr_registry": plugin.ecr_registry}
