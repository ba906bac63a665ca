"""Which packages the docker_engine role installs on a release, chosen from the probe's reading of /etc/os-release
(host_probe os_release) instead of gathered facts, rendered by Ansible's own templating from the role's vars.

Pure logic: the role installs and runs the engine on real Debian 12 and 13 hosts in the nomad and platform
scenarios.
"""

import sys
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from conftest import trust, trust_as_template

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "docker_engine"
sys.path.insert(0, str(ROOT / ".build"))  # ansible_collections/mlops/stack -> the checkout

from ansible_collections.mlops.stack.plugins.module_utils.probe import parse_os_release  # noqa: E402

DEBIAN_13 = 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\nID=debian\n'
DEBIAN_12 = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n'
UBUNTU = "NAME=\"Ubuntu\"\nVERSION_ID='24.04'\nID=ubuntu\nID_LIKE=debian\n# a comment=no\n"


def render(expression, probe=None, **overrides):
    variables = {}
    for part in ("defaults", "vars"):
        variables.update(trust(yaml.safe_load((ROLE / part / "main.yml").read_text())))
    variables.update(trust(overrides))
    if probe is not None:
        variables["__docker_engine_probe"] = probe  # a registered result: data, not a template
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template("{{ " + expression + " }}"))


def test_os_release_is_parsed_with_its_quotes_and_comments():
    assert parse_os_release(DEBIAN_13) == {"id": "debian", "version_id": "13", "id_like": []}
    assert parse_os_release(UBUNTU) == {"id": "ubuntu", "version_id": "24.04", "id_like": ["debian"]}
    assert parse_os_release("") == {"id": "", "version_id": "", "id_like": []}


@pytest.mark.parametrize(
    ("text", "packages"),
    [
        (DEBIAN_13, ["docker.io", "python3-requests", "docker-cli"]),  # its own CLI package
        (DEBIAN_12, ["docker.io", "python3-requests"]),
        (UBUNTU, ["docker.io", "python3-requests"]),
        ("", ["docker.io", "python3-requests"]),
    ],
)
def test_the_releases_packages_are_chosen_from_the_probe(text, packages):
    probe = {"os_release": parse_os_release(text)}
    assert render("__docker_engine_packages", probe) == packages


def test_the_probe_asks_for_every_releases_packages_before_the_release_is_known():
    assert sorted(render("__docker_engine_probe_packages")) == ["docker-cli", "docker.io", "python3-requests"]
    # Before the probe, the paths it reads can be rendered too (its packages are the default list then).
    assert render("__docker_engine_packages") == ["docker.io", "python3-requests"]


def test_packages_given_are_installed_as_given_on_every_release():
    probe = {"os_release": parse_os_release(DEBIAN_13)}
    assert render("__docker_engine_packages", probe, docker_engine_packages=["docker-ce"]) == ["docker-ce"]
    assert render("__docker_engine_probe_packages", docker_engine_packages=["docker-ce"]) == ["docker-ce"]
