"""A replace in a preview says what it will cost (layers to build and to
reuse, bytes to push, time), from the layer plan, this workspace's layer
records and the registry's answers; a no-change preview asks the registry
nothing more. Driven through the provider's check/create/diff against the
in-memory registry and builder (tests/support/fakes.py: its builds make the
layers a real build plans, one base layer under them) and a real SQLite
workspace. The engine tier shows the same line in a real `pulumi preview`
(tests/engine/test_preview_cost.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pulumi_mlenv.resources.environment as module
from pulumi_mlenv.resources.environment import EnvironmentProvider
from support.fakes import FakeWorld

REGISTRY = "127.0.0.1:5000"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWorld]:
    monkeypatch.setenv("MLENV_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MLENV_BASE_IMAGE", f"{REGISTRY}/mlenv/python:3.11-bookworm")
    monkeypatch.setenv("MLENV_INSTALLER", "uv")
    monkeypatch.delenv("MLENV_GLOBAL_REGISTRY", raising=False)
    yield FakeWorld(tmp_path)


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(module, "say", lambda name, text, warn=False: lines.append(text))
    return lines


@pytest.fixture
def provider(world: FakeWorld) -> EnvironmentProvider:
    return EnvironmentProvider(outside=world.outside())


def env(name: str, *pip: str) -> dict[str, Any]:
    return {
        "name": name,
        "python": {"conda": {"dependencies": ["python=3.11", {"pip": list(pip)}]}},
        "registry": REGISTRY,
    }


def checked(p: EnvironmentProvider, world: FakeWorld, news: dict[str, Any], olds=None) -> Any:
    result = p.check(olds or {}, {"workspace": world.workspace_url, **news})
    assert not result.failures, [f.reason for f in result.failures]
    return result.inputs


def create(p: EnvironmentProvider, world: FakeWorld, news: dict[str, Any]) -> dict[str, Any]:
    outs = p.create(checked(p, world, news)).outs
    assert outs is not None
    return outs


def replace_line(said: list[str]) -> str:
    lines = [line for line in said if line.startswith("replace: ")]
    assert len(lines) == 1, said
    return lines[0]


def test_a_pin_change_says_the_layers_bytes_and_time_it_will_cost(
    provider: EnvironmentProvider, world: FakeWorld, said: list[str]
) -> None:
    olds = create(provider, world, env("train", "numpy==2.1.3", "six==1.16.0"))
    news = checked(provider, world, env("train", "numpy==2.2.0", "six==1.16.0"), olds)
    said.clear()
    assert provider.diff("id", olds, news).replaces == ["python"]
    # Base, venv, numpy, the small group, the lock file: numpy's and the lock
    # file's are new (sizes from the same slots: ~), 1 s each here.
    assert replace_line(said).endswith("(2 of 5 layers to build, ~2.1 MB to push, ~2.0 s)")
    assert "numpy" in replace_line(said)


def test_a_layer_built_for_another_environment_is_reused(
    provider: EnvironmentProvider, world: FakeWorld, said: list[str]
) -> None:
    olds = create(provider, world, env("train", "numpy==2.1.3", "six==1.16.0"))
    create(provider, world, env("other", "numpy==2.2.0", "six==1.17.0"))
    news = checked(provider, world, env("train", "numpy==2.2.0", "six==1.16.0"), olds)
    said.clear()
    provider.diff("id", olds, news)
    assert replace_line(said).endswith("(1 of 5 layers to build, ~100 kB to push, ~1.0 s)")
    assert world.blob_checks == 1  # numpy 2.2.0's layer: is it still in the registry?


def test_a_workspace_that_never_built_here_says_so(
    provider: EnvironmentProvider, world: FakeWorld, said: list[str]
) -> None:
    olds = create(provider, world, env("train", "numpy==2.1.3", "six==1.16.0"))
    with sqlite3.connect(world.root / "workspace.db") as db:
        db.execute("delete from mlenv_layers")
    world.images.clear()  # the old image is gone from its registry too
    news = checked(provider, world, env("train", "numpy==2.2.0", "six==1.16.0"), olds)
    said.clear()
    provider.diff("id", olds, news)
    assert replace_line(said).endswith("(4 layers to build, first build here)")


def test_a_registry_that_does_not_answer_leaves_the_reason_without_a_cost(
    provider: EnvironmentProvider, world: FakeWorld, said: list[str]
) -> None:
    olds = create(provider, world, env("train", "numpy==2.1.3"))
    news = checked(provider, world, env("train", "numpy==2.2.0"), olds)
    world.down.add(REGISTRY)
    said.clear()
    assert provider.diff("id", olds, news).replaces == ["python"]
    assert replace_line(said) == "replace: pip: numpy==2.1.3 -> numpy==2.2.0"


@pytest.mark.parametrize(
    "change",
    [{}, {"description": "nightly"}],
    ids=["no change", "metadata only"],
)
def test_a_preview_without_a_replace_asks_the_registry_nothing_more(
    provider: EnvironmentProvider, world: FakeWorld, said: list[str], change: dict[str, Any]
) -> None:
    olds = create(provider, world, env("train", "numpy==2.1.3", "six==1.16.0"))
    news = checked(provider, world, {**env("train", "numpy==2.1.3", "six==1.16.0"), **change}, olds)
    requests, checks = world.requests, world.blob_checks
    provider.diff("id", olds, news)
    assert (world.requests, world.blob_checks) == (requests, checks)
    assert not [line for line in said if line.startswith("replace")]
