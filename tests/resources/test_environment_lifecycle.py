"""The Environment resource through the real engine: what a reviewer sees in
`pulumi preview`, and what `pulumi up` builds, reuses and registers.

One stack walks through the steps in order (each test starts from the state
the previous one left), so the cold builds happen once per module.
"""

from __future__ import annotations

import copy
import re
import sqlite3
from typing import Any

import pytest
from pulumi import automation as auto

from .conftest import Program


def conda(*pip: str) -> dict[str, Any]:
    return {"conda": {"dependencies": ["python=3.11", {"pip": list(pip)}]}}


R15 = [
    {"resource": "a", "name": "train", "version": "1", "python": conda("six==1.16.0", "idna==3.7")},
    {
        "resource": "b",
        "name": "experiments",
        "version": "7",
        "python": conda("six==1.16.0", "idna==3.7"),
    },
    {"resource": "c", "name": "scoring", "python": conda("six==1.17.0")},
]


def versions(program: Program, *, archived: bool = False) -> set[tuple[str, str]]:
    """The active versions in the workspace (the archived ones when asked)."""
    which = "is not null" if archived else "is null"
    with sqlite3.connect(program.workspace_db) as db:
        query = f"select name, version from mlenv_versions where archived_at {which}"
        return {(str(n), str(v)) for n, v in db.execute(query)}


def outputs(result: auto.UpResult) -> dict[str, dict[str, Any]]:
    return {k: v.value for k, v in result.outputs.items()}


@pytest.fixture(scope="module")
def r15(program: Program) -> dict[str, dict[str, Any]]:
    program.set_envs(R15)
    return outputs(program.up())


def test_first_up_builds_exactly_two_images_for_r15(r15: dict[str, dict[str, Any]]) -> None:
    assert r15["a"]["hash"] == r15["b"]["hash"] != r15["c"]["hash"]
    assert r15["a"]["image"] == r15["b"]["image"] != r15["c"]["image"]
    assert "@sha256:" in r15["a"]["image"]
    assert sum(1 for env in r15.values() if env["built"]) == 2


def test_versions_are_registered_in_the_workspace(
    program: Program, r15: dict[str, dict[str, Any]]
) -> None:
    assert versions(program) == {("train", "1"), ("experiments", "7"), ("scoring", "1")}


def test_second_preview_shows_no_changes(program: Program, r15: dict[str, Any]) -> None:
    preview = program.preview()
    assert set(preview.change_summary) == {"same"}


def test_renaming_builds_nothing(program: Program, r15: dict[str, dict[str, Any]]) -> None:
    envs = copy.deepcopy(R15)
    envs[1]["name"] = "experiments-renamed"
    program.set_envs(envs)
    assert program.preview().change_summary.get("update") == 1
    result = program.up()
    assert result.summary.resource_changes == {"same": 5, "update": 1}
    assert outputs(result)["b"]["image"] == r15["b"]["image"]
    assert ("experiments-renamed", "7") in versions(program)
    assert ("experiments", "7") not in versions(program)
    program.set_envs(R15)
    program.up()


def test_variable_change_is_an_update_that_builds_nothing(
    program: Program, r15: dict[str, dict[str, Any]]
) -> None:
    envs = copy.deepcopy(R15)
    envs[0]["environment_variables"] = {"OMP_NUM_THREADS": "4"}
    program.set_envs(envs)
    preview = program.preview()
    assert preview.change_summary.get("update") == 1
    assert "replace" not in preview.change_summary
    result = program.up()
    assert outputs(result)["a"]["image"] == r15["a"]["image"]
    program.set_envs(R15)
    program.up()


def test_pinned_version_change_previews_as_replace_with_the_reason(
    program: Program, r15: dict[str, Any]
) -> None:
    envs = copy.deepcopy(R15)
    envs[2]["python"] = conda("six==1.16.0")
    program.set_envs(envs)
    preview = program.preview()
    assert preview.change_summary.get("replace") == 1
    assert "scoring: replace: pip: six==1.17.0 -> six==1.16.0" in program.printed, program.printed
    # ... and what it will cost, from the layer records of the first up and
    # the registry's answers: six's layer and the lock file's are new; the
    # base's and the venv's are in the registry.
    cost = re.search(
        r"six==1\.17\.0 -> six==1\.16\.0 \(2 of (\d+) layers to build, ~(\d+) kB to push,"
        r" ~([\d.]+) s( or more)?\)",  # a step BuildKit had cached was not timed
        program.printed,
    )
    assert cost, program.printed
    assert int(cost[1]) >= 4  # at least a base layer, the venv, six's group, the lock file
    assert float(cost[3]) > 0
    program.set_envs(R15)


def test_reordering_dependencies_replaces(program: Program, r15: dict[str, Any]) -> None:
    envs = copy.deepcopy(R15)
    envs[0]["python"] = conda("idna==3.7", "six==1.16.0")
    del envs[0]["version"]  # a new definition gets the next version number
    program.set_envs(envs)
    preview = program.preview()
    assert preview.change_summary.get("replace") == 1
    assert "train: replace: pip: order changed" in program.printed
    program.set_envs(R15)


def test_same_name_and_version_with_another_definition_is_refused(
    program: Program, r15: dict[str, Any]
) -> None:
    envs = copy.deepcopy(R15)
    envs[0]["python"] = conda("six==1.17.0")  # still version "1"
    program.set_envs(envs)
    with pytest.raises(auto.CommandError) as err:
        program.preview()
    assert "environment 'train' version 1 is already registered" in str(err.value)
    assert "give a new version" in str(err.value)
    program.set_envs(R15)


def test_bad_definition_fails_preview_with_the_property_path_and_keeps_state(
    program: Program, r15: dict[str, Any]
) -> None:
    before = program.stack.export_stack().deployment
    envs = copy.deepcopy(R15)
    envs[2]["python"] = conda("six=1.16.0")
    program.set_envs(envs)
    with pytest.raises(auto.CommandError) as err:
        program.preview()
    assert "python.conda.dependencies[1].pip[0]" in str(err.value)
    assert "six==1.16.0" in str(err.value)
    assert program.stack.export_stack().deployment == before
    program.set_envs(R15)


def test_failed_build_registers_nothing_and_a_fixed_program_goes_up(
    program: Program, r15: dict[str, Any]
) -> None:
    envs = [
        *copy.deepcopy(R15),
        {"resource": "d", "name": "broken", "python": conda("mlenv-no-such-package==0.0.1")},
    ]
    program.set_envs(envs)
    with pytest.raises(auto.CommandError) as err:
        program.up()
    # The failed package is named, with the end of the build log.
    assert "package: mlenv-no-such-package" in str(err.value)
    assert "end of build log" in str(err.value)
    assert not any(name == "broken" for name, _ in versions(program))
    envs[-1]["python"] = conda("six==1.17.0")
    program.set_envs(envs)
    result = program.up()
    assert outputs(result)["d"]["image"] == r15["c"]["image"]  # same content as scoring: reused
    assert ("broken", "1") in versions(program)
    program.set_envs(R15)
    program.up()


def _docker(*args: str) -> str:
    import os
    import subprocess

    cli = os.environ.get("MLENV_DOCKER_CLI") or "docker"
    return subprocess.run([cli, *args], check=True, capture_output=True, text=True).stdout.strip()


def test_moved_base_tag_replaces(program: Program, r15: dict[str, Any]) -> None:
    import os

    tag = f"{program.registry}/base:moving"
    _docker("tag", os.environ["MLENV_BASE_IMAGE"], tag)
    _docker("push", tag)
    envs = [
        *copy.deepcopy(R15),
        {
            "resource": "e",
            "name": "on-a-moving-tag",
            "version": "1",
            "docker": {"base_image": tag},
            "python": conda("six==1.17.0"),
        },
    ]
    program.set_envs(envs)
    program.up()
    assert set(program.preview().change_summary) == {"same"}

    # Someone pushes a new image under the same tag (a base image update).
    container = _docker("create", tag)
    _docker("commit", "--change", "LABEL org.example.moved=1", container, tag)
    _docker("rm", container)
    _docker("push", tag)

    # A version always means one hash: version 1 cannot silently follow the tag.
    with pytest.raises(auto.CommandError) as err:
        program.preview()
    assert "environment 'on-a-moving-tag' version 1 is registered with hash" in str(err.value)
    assert "base image tag points to another image" in str(err.value)
    # Without a label it gets the next number; the preview says why it rebuilds.
    del envs[-1]["version"]
    program.set_envs(envs)
    preview = program.preview()
    assert preview.change_summary.get("replace") == 1
    assert f"on-a-moving-tag: replace: base image tag {tag} moved" in program.printed
    before = program.stack.outputs()["e"].value
    after = outputs(program.up())["e"]
    assert after["version"] == "2" and after["built"] is True
    assert after["image"] != before["image"]
    assert ("on-a-moving-tag", "2") in versions(program)
    assert ("on-a-moving-tag", "1") in versions(program, archived=True)  # history kept
    program.set_envs(R15)
    program.up()
    assert not any(name == "on-a-moving-tag" for name, _ in versions(program))
    assert {v for n, v in versions(program, archived=True) if n == "on-a-moving-tag"} == {"1", "2"}
