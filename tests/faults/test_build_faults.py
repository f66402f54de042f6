"""Faults during a build, each with daemons of the test's own on free ports
(the shared registry and BuildKit are never stopped):

- the registry stops while the image is built and pushed: one line blames
  the registry, by address (not the build daemon);
- the BuildKit daemon stops mid-build: one line says the daemon stopped.

For each: no version is recorded, no lease is left, no tag is left in the
registry without a record, and the same build run again converges."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from pulumi_mlenv.compute.docker_target import DockerTarget
from pulumi_mlenv.compute.job import Job
from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import EngineError
from pulumi_mlenv.imaging.buildkit import StepEvent
from pulumi_mlenv.service import environments as envs
from pulumi_mlenv.service.holds import workspace_id
from support.services import fresh_settings

pytestmark = pytest.mark.docker

BUILDKITD_TOML = """\
[worker.oci]
  enabled = true
  gc = false
[worker.containerd]
  enabled = false
[registry."127.0.0.1:5000"]
  http = true
  insecure = true
"""


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _registry(root: Path, port: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A registry of the test's own (storage kept in ``root`` across restarts)."""
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry is missing: apt-get install docker-registry"
    config = root / "registry.yml"
    config.write_text(
        "version: 0.1\nlog: { level: warn }\n"
        f"storage: {{ filesystem: {{ rootdirectory: {root / 'registry-data'} }} }}\n"
        f"http: {{ addr: '127.0.0.1:{port}' }}\n"
    )
    proc = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    address = f"127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                requests.get(f"http://{address}/v2/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield address, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)


def _tags(address: str) -> list[str]:
    catalog = requests.get(f"http://{address}/v2/_catalog", timeout=5).json()
    tags: list[str] = []
    for repo in catalog.get("repositories") or []:
        listed = requests.get(f"http://{address}/v2/{repo}/tags/list", timeout=5).json()
        tags += [f"{repo}:{t}" for t in listed.get("tags") or []]
    return tags


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
    folder = tmp_path / "bk"
    folder.mkdir()
    (folder / "buildkitd.toml").write_text(BUILDKITD_TOML)
    address = f"unix://{folder}/buildkitd.sock"
    binary = Path(os.environ["MLENV_BUILDKIT_BIN"]) / "buildkitd"
    log = (folder / "buildkitd.log").open("wb")
    proc = subprocess.Popen(
        [str(binary), "--config", str(folder / "buildkitd.toml"), "--root", str(folder / "root"),
         "--addr", address],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(300):
            probe = subprocess.run(["buildctl", "--addr", address, "debug", "workers"],
                                   capture_output=True, check=False)  # fmt: skip
            if probe.returncode == 0:
                break
            assert proc.poll() is None, (folder / "buildkitd.log").read_text()
            time.sleep(0.2)
        yield address, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        # A killed daemon leaves its build's mounts behind: unmount, then remove.
        mounts = Path("/proc/self/mounts").read_text().split("\n")
        inside = [m.split()[1] for m in mounts if m and m.split()[1].startswith(str(folder))]
        for point in sorted(inside, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)
        shutil.rmtree(folder / "root", ignore_errors=True)


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
