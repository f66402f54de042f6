"""Every example under examples/ goes up on the real engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pulumi_mlenv.workspace import Workspace
from support.postgres import DATABASES

from .conftest import Program


def _outputs(program: Program) -> dict[str, Any]:
    result = program.stack.up(on_output=program.output.append)
    return {k: v.value for k, v in result.outputs.items()}


@pytest.mark.parametrize("database", DATABASES)
def test_quickstart_is_r15(
    example: Callable[..., Program], database: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    program = example("quickstart", url)
    out = _outputs(program)
    hashes, images, built = out["hashes"], out["images"], out["built"]
    assert hashes["train"] == hashes["experiments"] != hashes["scoring"]
    assert images["train"] == images["experiments"] != images["scoring"]
    assert out["shared_image"] is True
    assert sum(built.values()) == 2
    assert out["versions"] == {"train": "1", "experiments": "7", "scoring": "1"}
    assert set(program.stack.preview().change_summary) == {"same"}
    with Workspace(url or str(program.workspace_db)) as ws:
        held = {v.label: v.holders for v in ws.list_versions()}
    assert held == {
        label: ("stack:mlenv-quickstart/test",)
        for label in ("train:1", "experiments:7", "scoring:1")
    }
    program.stack.destroy()
    with Workspace(url or str(program.workspace_db)) as ws:
        assert ws.list_versions() == []  # destroyed: archived, not deleted
        assert len(ws.list_versions(include_archived=True)) == 3


def test_from_files_reads_each_format_as_it_is(example: Callable[[str], Program]) -> None:
    program = example("from-files")
    out = _outputs(program)
    assert out["conda"]["name"] == "feature-engineering"
    assert out["pip"]["name"] == "scoring-requirements"
    assert (out["azureml-v2"]["name"], out["azureml-v2"]["version"]) == ("sklearn-inference", "4")
    assert (out["azureml-v1"]["name"], out["azureml-v1"]["version"]) == ("legacy-training", "3")
    assert len({env["hash"] for env in out.values()}) == 4
    assert all("@sha256:" in env["image"] for env in out.values())
    program.stack.destroy()


def test_a_changed_curated_environment_is_not_curated(example: Callable[[str], Program]) -> None:
    program = example("curated")
    out = _outputs(program)
    assert out["curated"]["kind"] == "curated"
    assert out["custom"]["kind"] == "system-managed"
    assert out["curated"]["hash"] != out["custom"]["hash"]
    program.stack.destroy()


def test_pulumi_docker_example_runs_only_where_its_plugin_exists(
    example: Callable[[str], Program],
) -> None:
    """pulumi-docker's plugin cannot be built here (its Go modules are not
    served). Where it is installed, the example must go up and run the
    container; where it is not, the engine must refuse the program naming the
    missing plugin: nothing may pretend a pulumi-docker resource ran."""
    import shutil
    import subprocess

    import pytest
    from pulumi import automation as auto

    program = example("pulumi-docker")
    plugins = subprocess.run(
        ["pulumi", "plugin", "ls", "--json"], capture_output=True, text=True, check=True
    ).stdout
    has_plugin = '"docker"' in plugins or shutil.which("pulumi-resource-docker") is not None
    if has_plugin:
        out = _outputs(program)
        assert "@sha256:" in out["image"]
        assert "1.17.0" in "".join(out["logs"] or [])
        program.stack.destroy()
    else:
        with pytest.raises(auto.CommandError) as err:
            program.stack.preview()
        assert "no resource plugin 'pulumi-resource-docker' found" in str(err.value)
