"""`mlenv env hash --resolve` prints the hash the Pulumi provider computes."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pulumi_mlenv.cli.main import app
from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import compute_hash, load_definition
from pulumi_mlenv.service.environments import definition_from_inputs, resolve

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = ROOT / "examples" / "from-files" / "definitions" / "environment.yml"


def test_resolved_hash_is_the_providers(machine: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["env", "hash", "--resolve", str(DEFINITION)])
    assert result.exit_code == 0, result.output
    printed = result.output.strip().splitlines()[-1]
    provider = resolve(definition_from_inputs({"source": str(DEFINITION)}), Settings.from_env())
    assert printed == provider.hash
    # Without --resolve, the default base's digest is not known: another hash.
    assert compute_hash(load_definition(DEFINITION)) != provider.hash
