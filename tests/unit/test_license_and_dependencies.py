"""One license everywhere, and galaxy.yml's dependencies are exactly the collections the content uses."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
LICENSE = "GPL-3.0-or-later"
HEADER = "# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)"
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
# Where the shipped content names other collections' modules, plugins and filters by their full names.
CONTENT = [
    path for folder in ("roles", "plugins", "playbooks") for path in (ROOT / folder).rglob("*")
    if path.suffix in (".yml", ".py", ".j2")
]  # fmt: skip
FQCN = re.compile(r"\b([a-z_]+)\.([a-z_]+)\.[a-z_0-9]+\b")
NOT_COLLECTIONS = {"ansible.builtin", "ansible.module_utils", "ansible.plugins"}
PUBLISHERS = {"ansible", "amazon", "community"}


def test_the_license_file_is_the_gpl_3():
    text = (ROOT / "LICENSE").read_text()
    assert text.lstrip().startswith("GNU GENERAL PUBLIC LICENSE")
    assert "Version 3, 29 June 2007" in text.splitlines()[1]


def test_galaxy_and_every_role_name_that_license():
    assert GALAXY["license"] == [LICENSE]
    for meta in sorted(ROOT.glob("roles/*/meta/main.yml")):
        assert yaml.safe_load(meta.read_text())["galaxy_info"]["license"] == LICENSE, meta


def test_every_plugin_file_carries_the_license_header():
    missing = [
        str(path.relative_to(ROOT)) for path in sorted((ROOT / "plugins").rglob("*.py"))
        if HEADER not in path.read_text().splitlines()[:5]
    ]  # fmt: skip
    assert missing == []


def test_galaxy_has_no_placeholder_urls():
    text = (ROOT / "galaxy.yml").read_text()
    assert "example.invalid" not in text and "example.com" not in text


def test_dependencies_are_the_collections_the_content_uses():
    """Every full name from another publisher's collection (text that looks like one but is not, such as
    server.dc1.consul, comes from no such namespace) is a dependency, and every dependency is used."""
    used = {
        f"{namespace}.{name}"
        for path in CONTENT
        for namespace, name in FQCN.findall(path.read_text(errors="replace"))
        if namespace in PUBLISHERS
    } - NOT_COLLECTIONS
    assert used == set(GALAXY["dependencies"]), used ^ set(GALAXY["dependencies"])
    for collection, spec in GALAXY["dependencies"].items():
        assert re.fullmatch(r">=\d+\.\d+\.\d+,<\d+\.0\.0", spec), (collection, spec)


def test_requirements_yml_asks_for_exactly_galaxys_dependencies():
    wanted = yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]
    assert {c["name"]: c["version"] for c in wanted} == GALAXY["dependencies"]


def test_the_collection_tells_an_execution_environment_its_requirements():
    meta = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    for kind, name in (("python", "requirements.txt"), ("system", "bindep.txt")):
        assert meta["dependencies"][kind] == name and (ROOT / name).is_file()
    definition = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert definition["dependencies"]["galaxy"] == "requirements.yml"
