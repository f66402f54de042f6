"""The docs say what the code does: the recipe version, the example canonical
form, the commands they name, and the formats the readers take."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from pulumi_mlenv.cli.main import app
from pulumi_mlenv.definition import RECIPE_VERSION, Format, canonical_form, get_curated

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_hash_doc_states_the_recipe_version_and_a_true_example() -> None:
    text = (ROOT / "docs" / "hash.md").read_text()
    assert f'`RECIPE_VERSION` (currently `"{RECIPE_VERSION}"`)' in text
    example = re.search(r"curated scikit-learn environment:\s+```json\n(.*?)\n```", text, re.S)
    assert example is not None
    assert json.loads(example.group(1)) == canonical_form(get_curated("sklearn"))


def _command_paths(command: object, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out = {path}
    for name, sub in getattr(command, "commands", {}).items():
        out |= _command_paths(sub, (*path, name))
    return out


def test_every_command_the_docs_name_exists() -> None:
    known = _command_paths(typer.main.get_command(app))
    groups = {p[0] for p in known if len(p) == 2}
    named: set[tuple[str, ...]] = set()
    for doc in DOCS:
        for group, command in re.findall(r"\bmlenv ([a-z]+) ([a-z][a-z-]*)", doc.read_text()):
            if group in groups:
                named.add((group, command))
    assert named, "the docs name no command"
    assert named <= known, sorted(named - known)


def test_formats_doc_lists_every_format() -> None:
    text = (ROOT / "docs" / "formats.md").read_text()
    for fmt in Format:
        assert f"`{fmt.value}`" in text, fmt
