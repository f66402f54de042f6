"""One stdout printer and one ``--json`` shape: every command that prints a
result takes ``--json``, prints through ``cli/output.py``, and is listed
with its shape in docs/cli.md."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pulumi_mlenv.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "provider" / "pulumi_mlenv" / "cli"
FIXTURES = ROOT / "tests" / "definition" / "fixtures"
#: They print a thing (a file, the endpoint's answer, a log), not a result.
NO_JSON = {("env", "convert"), ("endpoint", "invoke"), ("run", "logs"), ("ui",)}
runner = CliRunner()


def _commands() -> list[tuple[tuple[str, ...], list[str]]]:
    found = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
            return
        options = [o for p in getattr(command, "params", []) for o in getattr(p, "opts", [])]
        found.append((path, options))

    walk(typer.main.get_command(app), ())
    return found


@pytest.mark.parametrize(("path", "options"), _commands(), ids=lambda v: " ".join(v))
def test_every_result_command_takes_json_and_is_in_the_docs(
    path: tuple[str, ...], options: list[str]
) -> None:
    assert ("--json" in options) != (path in NO_JSON), path
    assert f"| `{' '.join(path)}" in (ROOT / "docs" / "cli.md").read_text(), path


@pytest.mark.parametrize("module", sorted(CLI.glob("*.py")), ids=lambda p: p.name)
def test_only_the_printer_writes_results(module: Path) -> None:
    if module.name in ("output.py", "printer.py"):
        return
    tree = ast.parse(module.read_text())
    wrong = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            if (owner, name) == ("json", "dumps") or (
                name in ("print_json", "print") and not owner
            ):
                wrong.append(f"line {node.lineno}: {owner + '.' if owner else ''}{name}()")
            stderr = any(k.arg == "stderr" for k in node.keywords)
            if name == "Console" and not stderr:
                wrong.append(f"line {node.lineno}: a stdout Console of its own")
    assert not wrong, wrong


def test_json_is_one_indented_document_with_nothing_else(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pulumi_mlenv.cli.output import emit

    emit({"name": "train", "lock": ["six==1.16.0"], "size": None})
    assert capsys.readouterr().out == (
        '{\n  "name": "train",\n  "lock": [\n    "six==1.16.0"\n  ],\n  "size": null\n}\n'
    )


def test_curated_list_and_show_json_have_one_shape() -> None:
    listed = runner.invoke(app, ["curated", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    entries = json.loads(listed.stdout)
    assert entries and set(entries[0]) == {"name", "python", "packages", "hash", "definition"}
    shown = runner.invoke(app, ["curated", "show", entries[0]["name"], "--json"])
    assert json.loads(shown.stdout) == entries[0]


def test_validate_and_explain_json() -> None:
    valid = runner.invoke(
        app, ["env", "validate", "--json", str(FIXTURES / "formats" / "azureml-v1-saved")]
    )
    assert valid.exit_code == 0, valid.output
    assert json.loads(valid.stdout)["valid"] is True
    base = FIXTURES / "r13-renaming-keeps-hash"
    same = runner.invoke(
        app, ["env", "explain", "--json", str(base / "step1.yml"), str(base / "step2.yml")]
    )
    result = json.loads(same.stdout)
    assert (result["same_hash"], result["reasons"]) == (True, [])
    base = FIXTURES / "r13-version-changed"
    moved = runner.invoke(
        app, ["env", "explain", "--json", str(base / "step1.yml"), str(base / "step2.yml")]
    )
    assert json.loads(moved.stdout)["reasons"] == ["pip: pandas==2.2.3 -> pandas==2.2.2"]


def test_an_invalid_definition_prints_no_json() -> None:
    bad = runner.invoke(app, ["env", "validate", "--json", str(FIXTURES / "r13-version-changed")])
    assert bad.exit_code != 0 and bad.stdout == ""
