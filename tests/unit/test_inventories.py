"""The shipped inventories carry the site only: the collection carries the wiring between the layers."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = ["local", "aws", "example"]
# What joins the layers belongs to the roles' defaults, never to an inventory.
WIRING = {
    "consul_services", "consul_acl_tokens", "nomad_consul_enabled", "nomad_consul_token", "nomad_acl_tokens",
    "prometheus_scrape_jobs", "prometheus_consul_sd", "ml_workload_consul_token", "ml_workload_nomad_token",
}  # fmt: skip


def group_vars(inventory):
    for path in sorted((ROOT / "inventories" / inventory).rglob("*.yml")):
        if "group_vars" in path.parts or "host_vars" in path.parts:
            yield path


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_no_wiring_in_the_inventory(inventory):
    for path in group_vars(inventory):
        data = yaml.safe_load(path.read_text()) or {}
        assert not WIRING & set(data), f"{path}: {sorted(WIRING & set(data))}"
        # Comments may show overrides; settings may not read secrets.
        settings = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        assert ".secrets" not in settings, f"{path} reads the secrets folder"
        assert "token" not in settings, f"{path} sets a token"


def test_no_symlinks_between_inventories():
    for path in (ROOT / "inventories").rglob("*"):
        assert not path.is_symlink(), path


def test_every_inventory_names_the_three_groups():
    local = yaml.safe_load((ROOT / "inventories/local/hosts.yml").read_text())["all"]["children"]
    example = yaml.safe_load((ROOT / "inventories/example/hosts.yml").read_text())["all"]["children"]
    aws = yaml.safe_load((ROOT / "inventories/aws/aws_ec2.yml").read_text())["groups"]
    for groups in (local, example, aws):
        assert {"mlops_servers", "mlops_clients", "mlops_monitoring"} <= set(groups)
