"""Which Docker configuration Nomad's Docker driver pulls with (nomad_docker_auth_config's default), rendered by
Ansible's own templating from the nomad role's defaults (with the collection's ecr_registry test): the login the
ml_workload role keeps for the training image's registry, root's configuration for ECR (it names Amazon's
credential helper), none without a registry.

Pure logic: the platform scenario has Nomad pull the training image with that login from the real registry.
"""

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from conftest import trust, trust_as_template

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/root/.docker/mlops-registry/config.json"


def render(groups, **overrides):
    variables = trust(yaml.safe_load((ROOT / "roles" / "nomad" / "defaults" / "main.yml").read_text()))
    variables.update(trust(overrides))
    variables["groups"] = groups
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template("{{ nomad_docker_auth_config }}"))


WITH_MONITORING = {"mlops_monitoring": ["monitoring-1"], "mlops_clients": ["client-1"]}
WITHOUT = {"mlops_clients": ["client-1"]}


@pytest.mark.parametrize(
    ("groups", "overrides", "expected"),
    [
        (WITH_MONITORING, {}, LOGIN),  # site.yml's registry on the first monitoring host
        (WITHOUT, {}, ""),  # no registry: images built on each client, no login
        ({"mlops_monitoring": [], "mlops_clients": ["client-1"]}, {}, ""),
        ({"watchers": ["monitoring-1"]}, {"mlops_monitoring_group": "watchers"}, LOGIN),
        (WITHOUT, {"ml_workload_registry": "registry.example.org:5000"}, LOGIN),
        (WITH_MONITORING, {"ml_workload_registry": ""}, ""),
        (WITH_MONITORING, {"ml_workload_registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com"},
         "/root/.docker/config.json"),
        (WITHOUT, {"ml_workload_registry": "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"},
         "/root/.docker/config.json"),
    ],
)  # fmt: skip
def test_nomad_pulls_with_the_registry_login_the_workload_keeps(collection_plugins, groups, overrides, expected):
    assert render(groups, **overrides) == expected
