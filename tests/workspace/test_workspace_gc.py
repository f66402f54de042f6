"""`mlenv gc`: lists exactly the images nothing holds, deletes them from the
registry, and a digest something holds stays pullable. Real BuildKit, the
local registry (deletion enabled by setup) and both databases."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pulumi_mlenv.cli.main import app
from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.registry import RegistryClient
from pulumi_mlenv.service import ensure_image
from pulumi_mlenv.service.resolved import resolve
from pulumi_mlenv.service.retention import plan
from pulumi_mlenv.workspace import Holder, Workspace
from support.services import fresh_settings

pytestmark = pytest.mark.docker


def _tiny(marker: str):  # type: ignore[no-untyped-def]
    return parse_definition(
        {
            "name": "gc",
            "python": {"user_managed": True, "interpreter_path": "/usr/bin/python3"},
            "docker": {"steps": [f"RUN echo {marker} > /marker"]},
        }
    )


def _present(settings: Settings, repository: str, digest: str) -> bool:
    with RegistryClient(settings.registry.split("/", 1)[0]) as client:
        return client.digest_of(repository, digest) is not None


def test_gc_deletes_exactly_the_unheld_images_and_keeps_held_digests_pullable(
    workspace_url: str, tmp_path: Path, machine: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh_settings(tmp_path)
    stack, run = Holder.stack("proj/dev"), Holder("run", "nightly-1")
    with Workspace(workspace_url) as ws:
        old, held_by_run, current = (
            ensure_image(
                resolve(_tiny(uuid.uuid4().hex), settings), settings=settings, workspace=ws
            )
            for _ in range(3)
        )
        for result in (old, held_by_run, current):
            ws.register_version(
                "train",
                result.env_hash,
                version=None,
                image=result.image,
                definition={"hash": result.env_hash},
                holder=stack,
            )
        ws.hold("train", "2", run)
        ws.release("train", "1", stack)  # replaced: nothing holds version 1
        ws.release("train", "2", stack)  # the stack moved on; the run still holds 2
    monkeypatch.setenv("MLENV_WORKSPACE", workspace_url)
    monkeypatch.setenv("MLENV_REGISTRY", settings.registry)
    cli = CliRunner()

    # Too recent for a 1-day retention: nothing.
    assert plan(workspace_url, keep_days=1) == []
    later = datetime.now(UTC) + timedelta(days=2)
    assert [c.digest for c in plan(workspace_url, keep_days=1, now=later)] == [old.digest]

    dry = cli.invoke(app, ["gc", "--dry-run", "--keep-days", "0", "--json"])
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    assert report["dry_run"] is True
    assert [d["image"] for d in report["deleted"]] == [old.image]
    assert report["deleted"][0]["versions"] == ["train:1"]
    assert report["bytes"] == old.size and old.size
    assert _present(settings, old.repository, old.digest)  # a dry run deletes nothing

    words = cli.invoke(app, ["gc", "--dry-run", "--keep-days", "0"])
    assert "would delete 1 image" in words.stdout and old.image in words.stdout

    done = cli.invoke(app, ["gc", "--keep-days", "0", "--json"])
    assert done.exit_code == 0, done.output
    assert [d["image"] for d in json.loads(done.stdout)["deleted"]] == [old.image]
    assert not _present(settings, old.repository, old.digest)
    for kept in (held_by_run, current):
        assert _present(settings, kept.repository, kept.digest)
    # The run's digest is really pullable: the engine pulls it by digest.
    docker = [os.environ.get("MLENV_DOCKER_CLI") or "docker", "-H", os.environ["DOCKER_HOST"]]
    subprocess.run([*docker, "pull", "-q", held_by_run.image], check=True, capture_output=True)
    subprocess.run([*docker, "rmi", held_by_run.image], check=False, capture_output=True)

    again = cli.invoke(app, ["gc", "--dry-run", "--keep-days", "0", "--json"])
    assert json.loads(again.stdout)["deleted"] == []
    # History stays: version 1 is archived, resolvable, explained.
    with Workspace(workspace_url) as ws:
        one = ws.get_version("train", "1")
        assert one is not None and one.status == "archived" and one.image == old.image
        assert [v.version for v in ws.list_versions("train")] == ["2", "3"]
