"""Two stacks hold one environment version through the real engine: destroying
one releases only its own hold, and the version stays active for the other; a
forced rebuild keeps the number; the last destroy archives it, never deletes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from pulumi import automation as auto

from pulumi_mlenv.workspace import Workspace

from .conftest import PROGRAM

pytestmark = [pytest.mark.engine, pytest.mark.docker]


def _stack(work_dir: Path, backend: Path, name: str, config: dict[str, str]) -> auto.Stack:
    stack = auto.create_or_select_stack(
        stack_name=name,
        work_dir=str(work_dir),
        opts=auto.LocalWorkspaceOptions(env_vars={"PULUMI_BACKEND_URL": f"file://{backend}"}),
    )
    for key, value in config.items():
        stack.set_config(key, auto.ConfigValue(value))
    return stack


def test_two_stacks_share_a_version_and_each_destroy_releases_its_own_hold(
    tmp_path: Path, machine: dict[str, str]
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: holders\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    backend = tmp_path / "backend"
    backend.mkdir()
    db = tmp_path / "ws.db"
    env = {
        "resource": "train",
        "name": "train",
        "version": "1",
        "python": {"user_managed": True, "interpreter_path": "/usr/bin/python3"},
        "docker": {"steps": [f"RUN echo {uuid.uuid4().hex}"]},
    }
    config = {
        "workspacePath": str(db),
        "registry": f"{machine['MLENV_REGISTRY']}/t-{uuid.uuid4().hex[:10]}",
        "envs": json.dumps([env]),
    }
    team_a = _stack(tmp_path, backend, "team-a", config)
    team_b = _stack(tmp_path, backend, "team-b", config)
    built = [s.up().outputs["train"].value["built"] for s in (team_a, team_b)]
    assert built == [True, False]
    with Workspace(str(db)) as ws:
        train = ws.get_version("train", "1")
        assert train is not None
        assert train.holders == ("stack:holders/team-a", "stack:holders/team-b")

    team_a.destroy()
    with Workspace(str(db)) as ws:
        train = ws.get_version("train", "1")
        assert train is not None and train.status == "active"
        assert train.holders == ("stack:holders/team-b",)

    # A forced rebuild in team-b keeps the number, hash and definition.
    team_b.set_config("envs", auto.ConfigValue(json.dumps([{**env, "rebuild_trigger": "2"}])))
    after = team_b.up().outputs["train"].value
    assert after["version"] == "1" and after["built"] is True
    with Workspace(str(db)) as ws:
        history = ws.list_versions("train", include_archived=True)
        assert [(v.version, v.env_hash, v.status) for v in history] == [
            ("1", after["hash"], "active")
        ]
        assert history[0].image == after["image"]

    team_b.destroy()
    with Workspace(str(db)) as ws:
        assert ws.list_versions("train") == []
        kept = ws.get_version("train", "1")
        assert kept is not None and kept.status == "archived" and kept.holders == ()
