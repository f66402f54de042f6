"""A preview of an environment built from a Docker build context: the
provider's input parsing reads the context where the program runs, Pulumi
state keeps its fingerprint, and the diff names the edited file. Fast tier:
the provider's own functions, no engine (the engine path is the same calls)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pulumi_mlenv.definition import explain
from pulumi_mlenv.policy.environment import Action, decide
from pulumi_mlenv.service import environments as envs
from pulumi_mlenv.service.resolved import ResolvedEnvironment, resolve_known

FIXTURE = Path(__file__).parent / "definition" / "fixtures" / "build-context-is-identity"


def _checked(inputs: dict[str, object]) -> dict[str, object]:
    """What the provider's check records in state for these inputs."""
    spec = envs.definition_from_inputs(inputs)
    return {**inputs, **resolve_known(spec, None).state()}


def _preview(old: dict[str, object], new: dict[str, object]) -> tuple[Action, tuple[str, ...]]:
    decision = decide(
        old,
        new,
        old_hash=str(old["hash"]),
        new_hash=str(new["hash"]),
        explain=lambda: explain(
            ResolvedEnvironment.from_state(old).spec, ResolvedEnvironment.from_state(new).spec
        ),
    )
    return decision.action, decision.reasons


def test_a_source_with_a_build_context_previews_the_edited_file(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(FIXTURE, tmp_path / "env"))
    inputs = {"name": "train", "source": str(folder / "environment.yml")}
    old = _checked(inputs)
    assert _preview(old, _checked(inputs)) == (Action.SAME, ())
    (folder / "docker-context" / "requirements.txt").write_text("torch==2.4.0\n")
    action, reasons = _preview(old, _checked(inputs))
    assert action is Action.REPLACE
    assert reasons == ("build context: requirements.txt changed",)


def test_an_inline_build_context_is_read_from_the_program_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(FIXTURE / "docker-context", tmp_path / "ctx")
    monkeypatch.chdir(tmp_path)
    inputs = {
        "name": "train",
        "docker": {
            "base_dockerfile": (tmp_path / "ctx" / "Dockerfile").read_text(),
            "build_context": "ctx",
        },
    }
    old = _checked(inputs)
    spec = envs.definition_from_inputs(inputs)
    assert spec.docker.build_context == str(tmp_path / "ctx")
    (tmp_path / "ctx" / "scripts" / "eval.sh").write_text("#!/bin/sh\n")
    assert _preview(old, _checked(inputs)) == (
        Action.REPLACE,
        ("build context: added scripts/eval.sh",),
    )
