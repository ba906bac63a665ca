"""What the common role's files step removes from a folder the role owns (common_files_prune), and the probe's
listing of that folder (host_probe trees), rendered by Ansible's own templating from the role's vars.

Pure logic: the removal itself runs against real hosts in the default scenario (a rule file no longer
wanted) and the grafana scenario (a dashboard file no longer wanted).
"""

import sys
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from conftest import trust, trust_as_template

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "common"
sys.path.insert(0, str(ROOT / ".build"))  # ansible_collections/mlops/stack -> the checkout

from ansible_collections.mlops.stack.plugins.module_utils.probe import list_tree  # noqa: E402

RULES = "/etc/prometheus/rules"
STATE = "/opt/mlops/prometheus/.install-state.json"


def unwanted(facts, **overrides):
    variables = {}
    for part in ("defaults", "vars"):
        variables.update(trust(yaml.safe_load((ROLE / part / "main.yml").read_text())))
    variables.update(trust({"common_name": "prometheus", "common_files_prune": RULES, **overrides}))
    variables.update(facts)  # registered results: data, not templates
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template("{{ __common_prune_unwanted }}"))


def written(*names):
    return [{"dest": f"{RULES}/{name}", "content": "groups: []\n"} for name in names]


def install_probe(tree, state=STATE):
    return {"__common_install_probe": {"files": {state: {"exists": True}}, "trees": {RULES: tree}}}


def test_what_is_not_written_goes_and_what_is_written_stays():
    tree = [f"{RULES}/mlops-stack.yml", f"{RULES}/old.yml", f"{RULES}/recording.yml"]
    facts = install_probe(tree)
    assert unwanted(facts, common_files=written("mlops-stack.yml", "recording.yml")) == [f"{RULES}/old.yml"]
    assert unwanted(facts, common_files=written("mlops-stack.yml", "old.yml", "recording.yml")) == []


def test_folders_on_the_way_to_a_written_file_and_kept_entries_stay():
    tree = [f"{RULES}/a", f"{RULES}/a/x.json", f"{RULES}/b", f"{RULES}/b/y.json", f"{RULES}/c", f"{RULES}/ab"]
    facts = install_probe(tree)
    result = unwanted(facts, common_files=written("a/x.json"), common_files_prune_keep=[f"{RULES}/c"])
    # "ab" only shares a prefix with "a": it is not on the way to a/x.json.
    assert result == [f"{RULES}/ab", f"{RULES}/b", f"{RULES}/b/y.json"]


def test_another_programs_probe_is_not_used_a_find_is():
    # The install probe left by another role in the same play: its listing is not this folder's.
    facts = install_probe([f"{RULES}/old.yml"], state="/opt/mlops/pushgateway/.install-state.json")
    facts["__common_prune_found"] = {"files": [{"path": f"{RULES}/found.yml"}]}
    assert unwanted(facts, common_files=written()) == [f"{RULES}/found.yml"]


def test_a_file_group_of_its_own_name_reuses_its_programs_probe():
    facts = install_probe([f"{RULES}/old.yml"])
    assert unwanted(facts, common_name="prometheus rules", common_program="prometheus", common_files=[]) == [
        f"{RULES}/old.yml"
    ]


def test_the_user_steps_probe_serves_when_the_install_phase_did_not_run():
    facts = {
        "__common_install_probe": {"skipped": True},
        "__common_user_probe_own": {"files": {STATE: {"exists": False}}, "trees": {RULES: [f"{RULES}/old.yml"]}},
    }
    assert unwanted(facts, common_files=written()) == [f"{RULES}/old.yml"]


@pytest.mark.parametrize("missing", [True, False])
def test_list_tree_lists_every_entry_but_hidden_ones(tmp_path, missing):
    if missing:
        assert list_tree(str(tmp_path / "none")) == []
        return
    (tmp_path / "folder" / "sub").mkdir(parents=True)
    (tmp_path / "folder" / "sub" / "b.json").write_text("{}")
    (tmp_path / "folder" / "a.yml").write_text("")
    (tmp_path / "folder" / ".swap").write_text("")
    (tmp_path / "folder" / ".hidden").mkdir()
    (tmp_path / "folder" / ".hidden" / "c.json").write_text("{}")
    (tmp_path / "folder" / "link").symlink_to(tmp_path)  # not followed
    base = str(tmp_path / "folder")
    assert list_tree(base) == [f"{base}/a.yml", f"{base}/link", f"{base}/sub", f"{base}/sub/b.json"]
