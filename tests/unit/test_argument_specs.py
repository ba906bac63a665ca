"""Each role's meta/argument_specs.yml agrees with its defaults/main.yml.

Like prometheus-community's lint_arguments_spec.sh: every public default is
documented with the same default value, every documented option of the main
entry point has a default or is required, and every option has a type and a
description.
"""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/argument_specs.yml"))
# Private roles: the shared steps the service roles call with tasks_from.
PRIVATE = {"common"}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def test_every_role_has_an_argument_spec():
    roles = {p.name for p in (ROOT / "roles").iterdir() if p.is_dir()}
    assert roles == {p.name for p in ROLES}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_defaults_match_main_entry_point(role: Path):
    defaults = load(role / "defaults" / "main.yml")
    specs = load(role / "meta" / "argument_specs.yml")["argument_specs"]
    all_options = {name: opt for entry in specs.values() for name, opt in (entry.get("options") or {}).items()}
    main = specs["main"].get("options") or {}
    if role.name in PRIVATE:
        # Private role: its optional inputs have defaults, documented in some entry point.
        undocumented = set(defaults) - set(all_options)
        assert not undocumented, f"defaults without an argument spec: {sorted(undocumented)}"
    else:
        assert set(defaults) == set(main), (
            f"only in defaults: {sorted(set(defaults) - set(main))}; "
            f"only in argument_specs: {sorted(set(main) - set(defaults))}"
        )
    for name, value in defaults.items():
        spec = all_options[name]
        if computed_elsewhere(spec, value):
            continue
        assert "default" in spec, f"{name}: argument spec has no default (defaults/main.yml has {value!r})"
        assert spec["default"] == value, f"{name}: argument spec default {spec['default']!r} != defaults {value!r}"


def computed_elsewhere(spec: dict, value) -> bool:
    """A default computed from other variables for an option that is not a string (a bool from the
    inventory's groups, say) cannot be shown as a default of its type (antsibull-docs refuses it): the
    spec leaves the default out and its description says what it is."""
    typed = spec.get("type") in ("bool", "int", "float", "dict") or spec.get("elements") == "dict"
    if not typed or not (isinstance(value, str) and "{{" in value):
        return False
    description = spec.get("description")
    text = " ".join(description) if isinstance(description, list) else str(description)
    assert "default" not in spec and "Default," in text, f"computed default not described: {text}"
    return True


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_options_are_typed_and_described(role: Path):
    specs = load(role / "meta" / "argument_specs.yml")["argument_specs"]
    for entry, spec in specs.items():
        assert spec.get("short_description"), f"{entry}: no short_description"
        for name, opt in (spec.get("options") or {}).items():
            assert opt.get("type"), f"{entry}.{name}: no type"
            assert opt.get("description"), f"{entry}.{name}: no description"
            if opt.get("type") == "list":
                assert opt.get("elements"), f"{entry}.{name}: list without elements"
            if "choices" in opt and "default" in opt:
                assert opt["default"] in opt["choices"], f"{entry}.{name}: default not in choices"


@pytest.mark.parametrize("role", [r for r in ROLES if r.name not in PRIVATE], ids=lambda p: p.name)
def test_public_variables_carry_the_role_prefix(role: Path):
    for name in load(role / "defaults" / "main.yml"):
        assert name.startswith(f"{role.name}_"), name
    for name in load(role / "vars" / "main.yml") if (role / "vars" / "main.yml").exists() else {}:
        assert name.startswith(f"__{role.name}_"), f"internal variable {name} should be __{role.name}_*"
