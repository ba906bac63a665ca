"""Pure logic of nomad_job: HCL2 variables and the plan diff as text."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build"))  # ansible_collections/mlops/stack -> the checkout

from ansible_collections.mlops.stack.plugins.modules.nomad_job import hcl_variables, render_diff  # noqa: E402


def test_variables_are_hcl2_literals():
    assert hcl_variables({"b": 2, "a": "x", "c": ["p", "q"], "d": {"k": True}}) == (
        'a = "x"\nb = 2\nc = ["p", "q"]\nd = {"k": true}\n'
    )


def test_diff_shows_only_changed_fields_nested():
    diff = {
        "Type": "Edited",
        "Fields": [{"Type": "None", "Name": "Priority", "Old": "50", "New": "50"}],
        "TaskGroups": [
            {
                "Type": "Edited",
                "Name": "web",
                "Fields": [{"Type": "Edited", "Name": "Count", "Old": "1", "New": "2"}],
                "Tasks": [
                    {"Type": "None", "Name": "idle", "Fields": []},
                    {
                        "Type": "Edited",
                        "Name": "web",
                        "Fields": [{"Type": "Added", "Name": "Env[A]", "Old": "", "New": "1"}],
                        "Objects": [],
                    },
                ],
            }
        ],
    }
    assert render_diff(diff) == [
        "~ taskgroup web",
        "  ~ Count: 1 => 2",
        "  ~ task web",
        "    + Env[A]: 1",
    ]


def test_unchanged_plan_renders_nothing():
    assert render_diff({"Type": "None", "Fields": [], "TaskGroups": [{"Type": "None", "Name": "g"}]}) == []
