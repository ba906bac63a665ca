"""Writes roles/<role>/README.md from the role's meta/argument_specs.yml (or, with --check, fails
when one is not what its argument specs give). tools/docs runs it; the lint phase runs tools/docs --check.

The argument specs are the one source of a role's reference: the docs site (antsibull-docs) renders
them too, and tests/unit/test_argument_specs.py keeps them equal to the roles' defaults.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "mlops.stack"
# Ansible's documentation markup, as Markdown.
MARKUP = [
    (re.compile(r"L\(([^,)]+),\s*([^)]+)\)"), r"[\1](\2)"),
    (re.compile(r"U\(([^)]+)\)"), r"<\1>"),
    (re.compile(r"I\(([^)]+)\)"), r"*\1*"),
    (re.compile(r"B\(([^)]+)\)"), r"**\1**"),
    (re.compile(r"(?:C|O|V|M|E|RV)\(((?:[^()]|\([^()]*\))+)\)"), r"`\1`"),
]
LONG_DEFAULT = 60


def text(value) -> str:
    """A description (a string or a list of paragraphs) as Markdown on one line."""
    paragraphs = value if isinstance(value, list) else [value or ""]
    out = []
    for paragraph in paragraphs:
        line = " ".join(str(paragraph).split())
        for pattern, replacement in MARKUP:
            line = pattern.sub(replacement, line)
        out.append(line)
    return " ".join(out)


def cell(value: str) -> str:
    return value.replace("|", "\\|")


def code(value: str) -> str:
    fence = "``" if "`" in value else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def default_of(option: dict) -> str:
    if option.get("required"):
        return "required"
    if "default" not in option:
        return "computed (see the description)" if "Default," in text(option.get("description")) else ""
    shown = json.dumps(option["default"], ensure_ascii=False)
    if len(shown) > LONG_DEFAULT:
        return "see `defaults/main.yml`"
    return code(shown)


def type_of(option: dict) -> str:
    kind = option.get("type", "str")
    return f"{kind} of {option['elements']}" if kind == "list" and option.get("elements") else kind


def entry_point(name: str, spec: dict) -> list[str]:
    lines = [f"## Entry point `{name}`", ""]
    if name != "main":  # main's is the README's first line
        lines += [text(spec.get("short_description")), ""]
    if spec.get("description"):
        paragraphs = spec["description"] if isinstance(spec["description"], list) else [spec["description"]]
        lines += [line for paragraph in paragraphs for line in (text(paragraph), "")]
    options = spec.get("options") or {}
    if not options:
        return [*lines, "No variables.", ""]
    lines += ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
    for option_name in sorted(options):
        option = options[option_name]
        row = [code(option_name), type_of(option), default_of(option), text(option.get("description"))]
        if option.get("choices"):
            row[3] += " Choices: " + ", ".join(code(json.dumps(c)) for c in option["choices"]) + "."
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    return [*lines, ""]


def readme(role: Path) -> str:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    main = specs.get("main", {})
    lines = [
        "<!-- Written by tools/role_readmes.py from meta/argument_specs.yml: edit those, then run tools/docs. -->",
        "",
        f"# {NAMESPACE}.{role.name}",
        "",
        text(main.get("short_description")),
        "",
        f"Use it as `{NAMESPACE}.{role.name}`; the collection's README and `docs/` say how the roles fit together.",
        "Every variable below is checked against this specification when the role starts.",
        "",
    ]
    for name in ["main", *sorted(n for n in specs if n != "main")]:
        if name in specs:
            lines += entry_point(name, specs[name])
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for role in sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/argument_specs.yml")):
        wanted = readme(role)
        path = role / "README.md"
        if path.exists() and path.read_text() == wanted:
            continue
        stale.append(path.relative_to(ROOT))
        if not check:
            path.write_text(wanted)
    if check and stale:
        print("not what their argument specs give (run tools/docs): " + ", ".join(map(str, stale)))
        return 1
    print(("role READMEs current: " if check else "role READMEs written: ") + (", ".join(map(str, stale)) or "all"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
