"""What users read speaks their words: no internal rule codes (R1..R18) in the
README, any ``--help``, error messages or preview lines (docs/ may explain
them); and the commands of the wild-definitions work say what they do."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pulumi_mlenv.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "provider" / "pulumi_mlenv"
FIXTURES = ROOT / "tests" / "definition" / "fixtures"
RULE = re.compile(r"\bR(?:1[0-8]|[1-9])\b")
runner = CliRunner()


def _commands(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path]
    for name, sub in getattr(command, "commands", {}).items():  # a group's sub-commands
        out += _commands(sub, (*path, name))
    return out


@pytest.mark.parametrize("path", _commands(typer.main.get_command(app)), ids=" ".join)
def test_no_rule_codes_in_help(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert not RULE.search(result.stdout), RULE.findall(result.stdout)


def test_no_rule_codes_in_the_readmes() -> None:
    files = [ROOT / "README.md", *ROOT.glob("examples/*/README.md")]
    files += ROOT.glob("examples/*/Pulumi.yaml")
    found = {f.name: RULE.findall(f.read_text()) for f in files}
    assert not {k: v for k, v in found.items() if v}


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for i, stmt in enumerate(body):
            # A docstring, or an attribute docstring (a string after an assignment).
            after = i == 0 or isinstance(body[i - 1], ast.AnnAssign | ast.Assign)
            if after and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                ids.add(id(stmt.value))
    return ids


def test_no_rule_codes_in_messages_or_preview_lines() -> None:
    """Every string the package can print (errors, warnings, preview reasons,
    help): string literals other than docstrings of non-CLI modules."""
    found: list[str] = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        skip = set() if "cli" in path.parts else _docstrings(tree)
        for node in ast.walk(tree):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and id(node) not in skip and RULE.search(text):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


def test_validate_prints_located_warnings_on_stderr() -> None:
    path = FIXTURES / "duplicates-combine-like-pip" / "requirements.txt"
    result = runner.invoke(app, ["env", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("valid: duplicates-combine-like-pip")
    assert (
        "warning: requirements.txt:3: 'pandas==2.2.2' is listed twice"
        " (also at requirements-test.txt:3); remove one"
    ) in result.stderr


def test_convert_partial_writes_the_conda_part_and_says_what_is_left_out() -> None:
    folder = str(FIXTURES / "azureml-v1-to-v2-same-hash" / "v1-saved")
    refused = runner.invoke(app, ["env", "convert", folder, "--to", "conda"])
    assert refused.exit_code == 2 and "--partial" in refused.stderr
    result = runner.invoke(app, ["env", "convert", folder, "--to", "conda", "--partial"])
    assert result.exit_code == 0, result.output
    assert "scikit-learn==1.5.0" in result.stdout and "image" not in result.stdout
    assert "left out: base image: mcr.microsoft.com/azureml/" in result.stderr


@pytest.mark.parametrize(
    ("created", "recorded", "shown"),
    [
        (
            "1970-01-01T00:00:00Z",
            "2026-12-03T10:00:00+00:00",
            "2026-12-03T10:00:00+00:00 (built; the image's own date is fixed by the "
            "reproducible build)",
        ),
        (
            "1970-01-01T00:00:00Z",
            None,
            "not recorded (the image's own date is fixed by the reproducible build)",
        ),
        ("2026-11-28T09:14:03Z", None, "2026-11-28T09:14:03Z"),
        (None, None, "-"),
    ],
)
def test_image_details_never_shows_the_epoch_as_a_date(
    created: str | None, recorded: str | None, shown: str
) -> None:
    from pulumi_mlenv.cli.build_commands import shown_date

    assert shown_date(created, recorded) == shown
