"""Faults during a build, each with daemons of the test's own on free ports
(the shared registry and BuildKit are never stopped):

- the registry stops while the image is built and pushed: one line blames
  the registry, by address (not the build daemon);
- the BuildKit daemon stops mid-build: one line says the daemon stopped.

For each: no version is recorded, no lease is left, no tag is left in the
registry without a record, and the same build run again converges."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pulumi_mlenv.compute.docker_target import DockerTarget
from pulumi_mlenv.compute.job import Job
from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import EngineError
from pulumi_mlenv.imaging.buildkit import StepEvent
from pulumi_mlenv.service import environments as envs
from pulumi_mlenv.service.holds import workspace_id
from support.buildkitd import buildkitd_process
from support.private_registry import free_port as _free_port
from support.private_registry import private_registry as _registry
from support.private_registry import registry_tags as _tags
from support.services import fresh_settings

pytestmark = pytest.mark.docker


def _spec(name: str, step: str) -> object:
    return envs.definition_from_inputs(
        {
            "name": name,
            "python": {"user_managed": True, "interpreter_path": "/usr/bin/python3"},
            "docker": {"steps": [step]},
        }
    )


def _versions(ws_file: Path) -> int:
    with sqlite3.connect(ws_file) as db:
        return int(db.execute("SELECT count(*) FROM mlenv_versions").fetchone()[0])


def _leases(ws_file: Path) -> int:
    with sqlite3.connect(ws_file) as db:  # a lease's row is deleted on release
        return int(db.execute("SELECT count(*) FROM mlenv_leases").fetchone()[0])


def _when_step_runs(marker: str, action: object) -> object:
    """A progress callback that calls ``action`` once the step named by
    ``marker`` has started (the build is then under way)."""
    fired = threading.Event()

    def progress(event: StepEvent) -> None:
        if marker in event.name and event.status == "started" and not fired.is_set():
            fired.set()
            action()  # type: ignore[operator]

    return progress


def test_a_registry_stopped_during_build_and_push_is_blamed_by_address(tmp_path: Path) -> None:
    settings = fresh_settings(tmp_path)
    port = _free_port()
    ws_file = tmp_path / "ws.db"
    ws = f"sqlite:///{ws_file}"
    marker = f"reg-{uuid.uuid4().hex[:8]}"
    spec = _spec("pushed", f"RUN sleep 4 # {marker}")
    with _registry(tmp_path, port) as (address, registry):
        settings = replace(settings, registry=f"{address}/faults")
        # The registry goes away while the slow step runs, before the push.
        with pytest.raises(EngineError) as err:
            envs.provision(
                envs.resolve(spec, settings),  # type: ignore[arg-type]
                settings=settings,
                workspace_url=ws,
                progress=_when_step_runs(marker, registry.kill),  # type: ignore[arg-type]
            )
        assert registry.poll() is not None  # it was stopped mid-build
    message = str(err.value)
    print(message)
    assert message.startswith(f"registry {address} did not answer while pushing the image")
    assert "BuildKit" not in message and "\n" not in message
    assert _versions(ws_file) == 0 and _leases(ws_file) == 0  # the record says nothing happened
    # Rerun with the registry back (same storage): converges to version 1.
    with _registry(tmp_path, port) as (address, _):
        done = envs.provision(
            envs.resolve(spec, settings),  # type: ignore[arg-type]
            settings=settings,
            workspace_url=ws,
        )
        assert done.version == "1" and _versions(ws_file) == 1
        # One image tag, and it has a record (beside it, the index tag of its
        # SBOM and provenance, ``sha256-<hex>``, and this workspace's hold tag).
        tags = _tags(address)
        assert len([t for t in tags if ":sha256-" not in t and ":hold-" not in t]) == 1
        digest12 = done.image.rsplit("@sha256:", 1)[1][:12]
        assert [t for t in tags if ":hold-" in t] == [
            f"faults/mlenv/env:hold-{digest12}-{workspace_id(ws)}"
        ]
    # A docker run of that image with the registry stopped: the engine must
    # pull it (it never had it: BuildKit pushed it), and blames the registry.
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print('ran')\n")
    job = Job(
        name="pull",
        source=tmp_path / "src",
        script="main.py",
        outputs=tmp_path / "out",
        python="/usr/bin/python3",
        image=done.image,
    )
    with pytest.raises(EngineError) as pulled:
        DockerTarget(settings.docker_host).execute(job, lambda _: None, lambda _: None)
    said = str(pulled.value)
    print(said)
    assert said.startswith(f"registry {address} did not answer while the engine pulled")
    assert "\n" not in said


@pytest.fixture
def private_buildkit(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with buildkitd_process(tmp_path / "bk") as daemon:
        yield daemon


def test_buildkit_stopped_mid_build_says_so_and_leaves_nothing(
    tmp_path: Path, private_buildkit: tuple[str, subprocess.Popen[bytes]]
) -> None:
    address, daemon = private_buildkit
    settings: Settings = replace(fresh_settings(tmp_path), buildkit_host=address)
    ws_file = tmp_path / "ws.db"
    ws = f"sqlite:///{ws_file}"
    marker = f"bk-{uuid.uuid4().hex[:8]}"
    spec = _spec("stopped", f"RUN sleep 8 # {marker}")
    with pytest.raises(EngineError) as err:
        envs.provision(
            envs.resolve(spec, settings),  # type: ignore[arg-type]
            settings=settings,
            workspace_url=ws,
            progress=_when_step_runs(marker, daemon.kill),  # type: ignore[arg-type]
        )
    message = str(err.value)
    print(message)
    assert f"BuildKit daemon at {address}" in message and "\n" not in message
    assert "stopped answering during the build" in message or "unreachable" in message
    assert _versions(ws_file) == 0 and _leases(ws_file) == 0
    # Rerun on the shared daemon: converges to version 1.
    shared = replace(settings, buildkit_host=fresh_settings(tmp_path).buildkit_host)
    done = envs.provision(envs.resolve(spec, shared), settings=shared, workspace_url=ws)  # type: ignore[arg-type]
    assert done.version == "1" and _versions(ws_file) == 1 and _leases(ws_file) == 0
