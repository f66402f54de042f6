"""``mlenv env ...`` and ``mlenv curated ...`` as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pulumi_mlenv.cli.main import app
from pulumi_mlenv.definition import compute_hash, load_definition

FIXTURES = Path(__file__).resolve().parents[1] / "definition" / "fixtures"
runner = CliRunner()


def test_hash_prints_the_hash_as_last_line() -> None:
    path = FIXTURES / "formats" / "conda-environment" / "environment.yml"
    result = runner.invoke(app, ["env", "hash", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == compute_hash(load_definition(path))
    assert "fraud-detection (conda, system-managed)" in result.stdout


def test_hash_of_renamed_definitions_is_equal() -> None:
    hashes = {
        runner.invoke(app, ["env", "hash", str(FIXTURES / "r13-renaming-keeps-hash" / step)])
        .stdout.strip().splitlines()[-1]
        for step in ("step1.yml", "step2.yml")
    }  # fmt: skip
    assert len(hashes) == 1


def test_hash_with_a_moved_base_digest_differs() -> None:
    path = str(FIXTURES / "r13-renaming-keeps-hash" / "step1.yml")
    plain = runner.invoke(app, ["env", "hash", path]).stdout.splitlines()[-1]
    moved = runner.invoke(app, ["env", "hash", path, "--base-digest", "sha256:" + "cd34" * 16])
    assert moved.exit_code == 0
    assert moved.stdout.splitlines()[-1] != plain


def test_hash_warns_about_unpinned_packages_on_stderr() -> None:
    result = runner.invoke(app, ["env", "hash", str(FIXTURES / "r16-unpinned")])
    assert result.exit_code == 0
    assert "not pinned" in result.stderr and "numpy" in result.stderr
    assert "not pinned" not in result.stdout


def test_hash_names_the_curated_entry() -> None:
    result = runner.invoke(app, ["curated", "show", "sklearn"])
    assert result.exit_code == 0 and "scikit-learn==1.5.2" in result.stdout


def test_explain_prints_one_reason_per_line() -> None:
    base = FIXTURES / "r13-version-changed"
    result = runner.invoke(
        app, ["env", "explain", str(base / "step1.yml"), str(base / "step2.yml")]
    )
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["pip: pandas==2.2.3 -> pandas==2.2.2"]


def test_explain_says_so_when_two_definitions_share_a_hash() -> None:
    base = FIXTURES / "r13-renaming-keeps-hash"
    result = runner.invoke(
        app, ["env", "explain", str(base / "step1.yml"), str(base / "step2.yml")]
    )
    assert result.exit_code == 0
    [line] = result.stdout.splitlines()
    assert line.startswith("same hash ") and line.endswith(": the same image, nothing to rebuild")


def test_validate_ok() -> None:
    result = runner.invoke(app, ["env", "validate", str(FIXTURES / "formats" / "azureml-v1-saved")])
    assert result.exit_code == 0
    assert result.stdout.startswith("valid: spark-feature-job (azureml-v1")


# (case, file content, text expected on stderr)
INVALID = [
    (
        "pip pin typo",
        "name: a\npython:\n  conda:\n    dependencies:\n      - pip:\n          - numpy=1.26.4\n",
        "mlenv.yml: python.conda.dependencies[0].pip[0]: "
        "'numpy=1.26.4' is not a valid pip requirement; did you mean 'numpy==1.26.4'?",
    ),
    ("unknown field", "name: a\ndocker:\n  base_imag: python:3.11\n", "did you mean 'base_image'?"),
    ("not YAML", "name: [a\n", "not valid YAML"),
]


@pytest.mark.parametrize(("case", "text", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_validate_invalid_exits_2_with_the_error_on_stderr(
    tmp_path: Path, case: str, text: str, message: str
) -> None:
    (tmp_path / "mlenv.yml").write_text(text)
    result = runner.invoke(app, ["env", "validate", str(tmp_path / "mlenv.yml")])
    assert result.exit_code == 2, case
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("target", ["mlenv", "conda", "azureml-v2"])
def test_convert_writes_the_same_hash(tmp_path: Path, target: str) -> None:
    source = FIXTURES / "formats" / "conda-environment" / "environment.yml"
    result = runner.invoke(app, ["env", "convert", str(source), "--to", target])
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "environment.yml"
    out.write_text(result.stdout)
    assert compute_hash(load_definition(out)) == compute_hash(load_definition(source))


def test_convert_refuses_a_lossy_target() -> None:
    source = FIXTURES / "formats" / "mlenv-conda-file"
    result = runner.invoke(app, ["env", "convert", str(source), "--to", "conda"])
    assert result.exit_code == 2
    assert "conda cannot carry this definition" in result.stderr
    assert "spark: removed org.apache.spark:spark-avro_2.12:3.5.3" in result.stderr


def test_curated_list_shows_the_catalog() -> None:
    result = runner.invoke(app, ["curated", "list"], env={"COLUMNS": "160"})
    assert result.exit_code == 0
    for name in ("mlenv-curated-sklearn", "mlenv-curated-pytorch-cpu", "mlenv-curated-pyspark"):
        assert name in result.stdout


def test_help_teaches_with_examples() -> None:
    result = runner.invoke(app, ["env", "hash", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "mlenv env hash environment.yml" in result.stdout


def test_the_console_script_runs() -> None:
    script = Path(sys.executable).parent / "mlenv"
    path = FIXTURES / "formats" / "requirements"
    done = subprocess.run(
        [str(script), "env", "hash", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == compute_hash(load_definition(path))
    bad = subprocess.run(
        [str(script), "env", "validate", str(FIXTURES / "r13-curated-changed")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "non-curated" in bad.stderr
