"""The ContainerRegistry, ComputeTarget and Workspace resources' decisions,
without a daemon (in-memory registry and targets, a real SQLite workspace).
Their real counterparts run once in test_registry_compute_settings.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pulumi_mlenv.resources.compute_target import ComputeTargetProvider
from pulumi_mlenv.resources.registry import ContainerRegistryProvider
from pulumi_mlenv.resources.workspace import WorkspaceProvider
from support.fakes import FakeWorld


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    return FakeWorld(tmp_path)


def test_registry_is_pinged_only_when_its_address_or_login_changes(world: FakeWorld) -> None:
    p = ContainerRegistryProvider(outside=world.outside())
    news = {"address": "127.0.0.1:5000/team/"}
    first = p.check({}, news)
    assert not first.failures and first.inputs["address"] == "127.0.0.1:5000/team"
    asked = world.requests
    p.check(first.inputs, {**news, "address": "127.0.0.1:5000/team"})
    assert world.requests == asked  # a no-change preview asks nothing


def test_registry_that_does_not_answer_fails_on_its_address(world: FakeWorld) -> None:
    world.down.add("127.0.0.1:5999")
    result = ContainerRegistryProvider(outside=world.outside()).check(
        {}, {"address": "127.0.0.1:5999"}
    )
    assert [f.property for f in result.failures] == ["address"]
    assert "127.0.0.1:5999" in result.failures[0].reason


def test_registry_login_is_checked_and_never_an_output(world: FakeWorld) -> None:
    world.logins["127.0.0.1:5000"] = ("ci", "s3cret")
    p = ContainerRegistryProvider(outside=world.outside())
    wrong = p.check({}, {"address": "127.0.0.1:5000", "username": "ci", "password": "nope"})
    assert wrong.failures and "s3cret" not in wrong.failures[0].reason
    ok = p.check({}, {"address": "127.0.0.1:5000", "username": "ci", "password": "s3cret"})
    assert not ok.failures
    outs = p.create(ok.inputs).outs or {}
    assert "password" not in outs and outs["username"] == "ci"


def test_registry_role_is_one_of_two(world: FakeWorld) -> None:
    result = ContainerRegistryProvider(outside=world.outside()).check(
        {}, {"address": "127.0.0.1:5000", "role": "primary"}
    )
    assert [f.property for f in result.failures] == ["role"]


def test_compute_target_is_checked_when_it_changes_and_recorded(world: FakeWorld) -> None:
    p = ComputeTargetProvider(outside=world.outside())
    news = {
        "name": "gpu",
        "kind": "docker",
        "url": "tcp://127.0.0.1:2399",
        "workspace": world.workspace_url,
    }
    world.down.add("tcp://127.0.0.1:2399")
    failed = p.check({}, news)
    assert [f.property for f in failed.failures] == ["url"]
    world.down.clear()
    inputs = p.check({}, news).inputs
    p.create(inputs)
    with sqlite3.connect(world.root / "workspace.db") as db:
        rows = list(db.execute("select name, kind, url from mlenv_compute_targets"))
    assert rows == [("gpu", "docker", "tcp://127.0.0.1:2399")]
    p.delete("id", inputs)
    with sqlite3.connect(world.root / "workspace.db") as db:
        assert list(db.execute("select name from mlenv_compute_targets")) == []


def test_compute_target_kind_is_named_when_unknown(world: FakeWorld) -> None:
    result = ComputeTargetProvider(outside=world.outside()).check(
        {}, {"name": "x", "kind": "kubernetes"}
    )
    assert [f.property for f in result.failures] == ["kind"]


def test_workspace_url_must_be_a_database_url_and_is_created(world: FakeWorld) -> None:
    p = WorkspaceProvider(outside=world.outside())
    assert [f.property for f in p.check({}, {"url": "team.db"}).failures] == ["url"]
    inputs = p.check({}, {"url": world.workspace_url}).inputs
    p.create(inputs)
    assert (world.root / "workspace.db").is_file()
    assert p.diff("id", inputs, {**inputs, "url": "sqlite:///other.db"}).replaces == ["url"]


def test_an_existing_workspace_passes_the_check_again(world: FakeWorld) -> None:
    p = WorkspaceProvider(outside=world.outside())
    inputs = p.check({}, {"url": world.workspace_url}).inputs
    p.create(inputs)  # the file exists now: the next preview reads it
    assert p.check(inputs, {"url": world.workspace_url}).failures == []


def test_a_corrupt_workspace_fails_the_preview_with_a_clear_error(world: FakeWorld) -> None:
    (world.root / "workspace.db").write_bytes(b"this is not a database " * 100)
    result = WorkspaceProvider(outside=world.outside()).check({}, {"url": world.workspace_url})
    assert [f.property for f in result.failures] == ["url"]
    assert "opening workspace" in result.failures[0].reason
    assert "not a database" in result.failures[0].reason
