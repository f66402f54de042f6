"""Every decision of the Environment resource, without a daemon: the
provider's check, diff, create, update, read and delete driven in-process
against in-memory registries and builder (tests/support/fakes.py) and a real
SQLite workspace. The engine tier walks the same scenarios once through the
real Pulumi engine, BuildKit and registry (test_environment_lifecycle.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pulumi_mlenv.errors import BuildError
from pulumi_mlenv.resources.environment import EnvironmentProvider
from support.fakes import FAILING_PACKAGE, FakeWorld

REGISTRY = "127.0.0.1:5000"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWorld]:
    monkeypatch.setenv("MLENV_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MLENV_BASE_IMAGE", f"{REGISTRY}/mlenv/python:3.11-bookworm")
    monkeypatch.delenv("MLENV_GLOBAL_REGISTRY", raising=False)
    yield FakeWorld(tmp_path)


@pytest.fixture
def provider(world: FakeWorld) -> EnvironmentProvider:
    return EnvironmentProvider(outside=world.outside())


def env(name: str, *pip: str, **extra: Any) -> dict[str, Any]:
    inputs = {
        "name": name,
        "python": {"conda": {"dependencies": ["python=3.11", {"pip": list(pip)}]}},
        "registry": REGISTRY,
        **extra,
    }
    return inputs


def checked(p: EnvironmentProvider, world: FakeWorld, news: dict[str, Any], olds=None) -> Any:
    result = p.check(olds or {}, {"workspace": world.workspace_url, **news})
    assert not result.failures, [f.reason for f in result.failures]
    return result.inputs


def create(p: EnvironmentProvider, world: FakeWorld, news: dict[str, Any]) -> dict[str, Any]:
    outs = p.create(checked(p, world, news)).outs
    assert outs is not None
    return outs


def versions(world: FakeWorld) -> set[tuple[str, str]]:
    with sqlite3.connect(world.root / "workspace.db") as db:
        rows = db.execute("select name, version from mlenv_versions where archived_at is null")
        return {(str(n), str(v)) for n, v in rows}


# -- check -------------------------------------------------------------------


def test_check_puts_the_resolved_base_and_both_hashes_in_the_inputs(
    provider: EnvironmentProvider, world: FakeWorld
) -> None:
    inputs = checked(provider, world, env("train", "six==1.16.0"))
    base = f"{REGISTRY}/mlenv/python:3.11-bookworm"
    assert inputs["base_digest"] == world.bases[base]
    assert inputs["base_image"] == base
    assert inputs["hash"] != inputs["definition_hash"]  # the base digest is in one only
    assert inputs["unpinned"] == []


def test_check_reports_every_problem_on_its_property(
    provider: EnvironmentProvider, world: FakeWorld
) -> None:
    bad = env("train", "numpy===")
    bad["docker"] = {"shm_size": "lots"}
    result = provider.check({}, {"workspace": world.workspace_url, **bad})
    properties = {f.property for f in result.failures}
    assert properties == {"python", "docker"}
    assert any("pip[0]" in f.reason for f in result.failures)
    assert world.builds == []


def test_check_refuses_a_taken_version_with_another_definition(
    provider: EnvironmentProvider, world: FakeWorld
) -> None:
    create(provider, world, env("train", "six==1.16.0", requested_version="1"))
    result = provider.check({}, {"workspace": world.workspace_url, **env(
        "train", "six==1.17.0", requested_version="1"
    )})  # fmt: skip
    assert [f.property for f in result.failures] == ["requested_version"]
    assert "already registered with another definition" in result.failures[0].reason


def test_check_names_the_base_registry_that_does_not_answer(
    provider: EnvironmentProvider, world: FakeWorld
) -> None:
    world.down.add(REGISTRY)
    result = provider.check({}, {"workspace": world.workspace_url, **env("t", "six==1.16.0")})
    assert result.failures and REGISTRY in result.failures[0].reason
    # No `docker` input was given: on a property the engine would print
    # "property docker value {<nil>} has a problem"; without one, the reason.
    assert [f.property for f in result.failures] == [""]
    assert world.builds == []


# -- create: build once per hash ------------------------------------------------


def test_three_environments_two_definitions_build_two_images(
    provider: EnvironmentProvider, world: FakeWorld
) -> None:
    a = create(provider, world, env("train", "six==1.16.0", "idna==3.7", requested_version="1"))
    b = create(provider, world, env("experiments", "six==1.16.0", "idna==3.7"))
    c = create(provider, world, env("scoring", "six==1.17.0"))
    assert (a["built"], b["built"], c["built"]) == (True, False, True)
    assert a["image"] == b["image"] != c["image"]
    assert b["reused_from"] == "workspace" and "reused_from" not in a
    assert len(world.builds) == 2
    assert versions(world) == {("train", "1"), ("experiments", "1"), ("scoring", "1")}
    assert b["shared_with"] == ["train:1"]


def test_create_uses_the_checked_value_without_resolving_again(
    provider: EnvironmentProvider, world: FakeWorld
) -> None:
    inputs = checked(provider, world, env("train", "six==1.16.0"))
    world.move_tag(f"{REGISTRY}/mlenv/python:3.11-bookworm")  # moves after check
    outs = provider.create(inputs).outs
    assert outs is not None and outs["hash"] == inputs["hash"]
    assert world.builds[0].base_ref.endswith(inputs["base_digest"])


def test_a_failed_build_registers_nothing(provider: EnvironmentProvider, world: FakeWorld) -> None:
    with pytest.raises(BuildError, match="does-not-exist-anywhere"):
        create(provider, world, env("train", FAILING_PACKAGE))
    assert versions(world) == set()
    fixed = create(provider, world, env("train", "six==1.16.0"))
    assert fixed["version"] == "1"


# -- diff: same, update or replace, in words -----------------------------------


def diff(p: EnvironmentProvider, world: FakeWorld, olds: dict[str, Any], news: dict[str, Any]):
    return p.diff("id", olds, checked(p, world, news, olds))


def test_no_change_is_no_diff_and_parses_no_definition(
    provider: EnvironmentProvider, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    olds = create(provider, world, env("train", "six==1.16.0"))
    import pulumi_mlenv.resources.environment as module

    def _no_parse(_props: Any) -> Any:
        raise AssertionError("a no-change diff parsed a definition")

    monkeypatch.setattr(module, "_resolved", _no_parse)
    assert diff(provider, world, olds, env("train", "six==1.16.0")).changes is False


@pytest.mark.parametrize(
    ("change", "replaces"),
    [
        ({"description": "nightly"}, []),
        ({"environment_variables": {"MODE": "fast"}}, []),
        ({"name": "renamed"}, []),
        ({"python": {"conda": {"dependencies": ["python=3.11", {"pip": ["six==1.17.0"]}]}}},
         ["python"]),
        ({"docker": {"steps": ["RUN true"]}}, ["docker"]),
    ],
    ids=["description", "variables", "rename", "pin", "docker-step"],
)  # fmt: skip
def test_diff_replaces_only_on_a_new_hash(
    provider: EnvironmentProvider, world: FakeWorld, change: dict[str, Any], replaces: list[str]
) -> None:
    olds = create(provider, world, env("train", "six==1.16.0"))
    result = diff(provider, world, olds, {**env("train", "six==1.16.0"), **change})
    assert result.changes is True
    assert result.replaces == replaces


def test_a_moved_base_tag_replaces_on_the_hash(
    provider: EnvironmentProvider, world: FakeWorld
) -> None:
    olds = create(provider, world, env("train", "six==1.16.0"))
    world.move_tag(f"{REGISTRY}/mlenv/python:3.11-bookworm")
    from pulumi_mlenv.registry import clear_resolve_cache

    clear_resolve_cache()
    result = diff(provider, world, olds, env("train", "six==1.16.0"))
    assert result.replaces == ["hash"]


def test_a_new_rebuild_trigger_forces_a_rebuild_that_keeps_the_version(
    provider: EnvironmentProvider, world: FakeWorld
) -> None:
    olds = create(provider, world, env("train", "six", rebuild_trigger="1"))
    news = env("train", "six", rebuild_trigger="2")
    result = diff(provider, world, olds, news)
    assert result.replaces == ["rebuild_trigger"] and result.delete_before_replace
    provider.delete("id", olds)
    again = create(provider, world, news)
    assert again["built"] is True and world.builds[-1].no_cache
    assert again["version"] == olds["version"] == "1"
    assert again["image"] != olds["image"]


# -- update, read, delete --------------------------------------------------------


def test_rename_is_an_update_that_builds_nothing(
    provider: EnvironmentProvider, world: FakeWorld
) -> None:
    olds = create(provider, world, env("train", "six==1.16.0"))
    news = checked(provider, world, env("fit", "six==1.16.0"), olds)
    outs = provider.update("id", olds, news).outs
    assert outs is not None and outs["image"] == olds["image"]
    assert len(world.builds) == 1
    assert versions(world) == {("fit", "1")}


def test_refresh_drops_an_image_deleted_from_its_registry(
    provider: EnvironmentProvider, world: FakeWorld
) -> None:
    outs = create(provider, world, env("train", "six==1.16.0"))
    assert provider.read("id", outs).id == "id"
    world.images.clear()
    assert provider.read("id", outs).id == ""


def test_refresh_keeps_state_when_the_registry_does_not_answer(
    provider: EnvironmentProvider, world: FakeWorld
) -> None:
    outs = create(provider, world, env("train", "six==1.16.0"))
    world.down.add(REGISTRY)
    world.images.clear()
    assert provider.read("id", outs).id == "id"


def test_refresh_uses_the_registry_login(provider: EnvironmentProvider, world: FakeWorld) -> None:
    logins = {"registry_username": "ci", "registry_password": "s3cret"}
    outs = create(provider, world, env("train", "six==1.16.0", **logins))
    world.logins[REGISTRY] = ("ci", "s3cret")
    world.images.clear()  # deleted: only an authenticated look can tell
    assert provider.read("id", {**outs, **logins}).id == ""


def test_delete_unregisters_only_its_own_version(
    provider: EnvironmentProvider, world: FakeWorld
) -> None:
    a = create(provider, world, env("train", "six==1.16.0"))
    create(provider, world, env("other", "six==1.16.0"))
    provider.delete("id", a)
    assert versions(world) == {("other", "1")}


# -- secrets ------------------------------------------------------------------------


def test_index_tokens_reach_the_build_and_nothing_that_is_stored_or_shown(
    provider: EnvironmentProvider, world: FakeWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "tok3n-8f2c"
    inputs = env("train", f"--extra-index-url https://ci:{token}@pypi.example/simple", "six")
    inputs["environment_variables"] = {"API_KEY": "v4lue-91ab"}
    checked_inputs = checked(provider, world, inputs)
    shown = {k: v for k, v in checked_inputs.items() if k != "python"}
    assert token not in repr(shown)  # `python` holding a token is a secret in state
    outs = provider.create(checked_inputs).outs or {}
    assert token in world.builds[0].spec.python.conda.pip_options[0]  # the build gets it
    assert token not in repr({k: v for k, v in outs.items() if k != "python"})
    stored = b"".join(p.read_bytes() for p in world.root.glob("workspace.db*"))
    assert token.encode() not in stored and b"v4lue-91ab" not in stored
    assert b"API_KEY" in stored
    changed = env("train", f"--extra-index-url https://ci:{token}@pypi.example/simple", "six==1")
    provider.diff("id", outs, checked(provider, world, changed, outs))
    printed = capsys.readouterr()
    assert "replace" in printed.out + printed.err  # the reason was printed ...
    assert token not in printed.out + printed.err  # ... without the token


def test_a_rotated_token_keeps_the_hash_and_builds_nothing(
    provider: EnvironmentProvider, world: FakeWorld
) -> None:
    old = create(provider, world, env("t", "--extra-index-url https://ci:one@idx.example/s", "six"))
    news = checked(
        provider, world, env("t", "--extra-index-url https://ci:two@idx.example/s", "six")
    )
    assert news["hash"] == old["hash"]
    assert provider.diff("id", old, news).replaces == []


def test_an_image_pushed_but_never_recorded_is_recorded_with_its_own_lock(
    provider: EnvironmentProvider, world: FakeWorld, tmp_path: Path
) -> None:
    # As when a kill lands between the push and the workspace record.
    create(provider, world, env("train", "six==1.16.0"))
    other = tmp_path / "other.db"
    inputs = {**env("again", "six==1.16.0"), "workspace": f"sqlite:///{other}"}
    outs = provider.create(provider.check({}, inputs).inputs).outs or {}
    assert outs["built"] is False and outs["lock"] == ["six==1.16.0"]
    with sqlite3.connect(other) as db:
        assert [r[0] for r in db.execute("select digest from mlenv_images")] == [
            outs["image"].rsplit("@", 1)[1]
        ]
