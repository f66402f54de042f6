"""The registry's storage lives in the per-user state folder, not in a clone:
an older clone's storage is moved there once, a registry that answers is left
alone, and its garbage collection runs read-only and gives the space back.
Each test starts a private registry on its own port and state folder (the
shared one on 127.0.0.1:5000 is never restarted)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pulumi_mlenv.registry import RegistryClient

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private(tmp_path: Path, machine: dict[str, str]) -> Iterator[dict[str, str]]:
    """Environment for the scripts: a clone's .state, a state folder, a port."""
    port = _free_port()
    env = {
        **os.environ,
        "MLENV_STATE": str(tmp_path / "clone" / ".state"),
        "MLENV_SERVICES_STATE": str(tmp_path / "state"),
        "MLENV_REGISTRY": f"127.0.0.1:{port}",
    }
    yield env
    pidfile = tmp_path / "state" / f"registry-{port}.pid"
    if pidfile.exists():  # the registry this test started, by its pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pidfile.read_text()), signal.SIGTERM)


def _run(script: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(ROOT / "scripts" / script)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_storage_moves_out_of_the_clone_once_and_a_running_registry_is_left_alone(
    private: dict[str, str],
) -> None:
    port = private["MLENV_REGISTRY"].rsplit(":", 1)[1]
    old = Path(private["MLENV_STATE"]) / f"registry-{port}"
    (old / "docker" / "registry" / "v2").mkdir(parents=True)
    (old / "docker" / "registry" / "v2" / "marker").write_text("an image from before")

    said = _run("setup-registry.sh", private)
    new = Path(private["MLENV_SERVICES_STATE"]) / f"registry-{port}"
    assert "moving its storage out of the clone" in said
    assert (new / "docker" / "registry" / "v2" / "marker").read_text() == "an image from before"
    assert old.is_symlink() and old.resolve() == new.resolve()
    assert requests.get(f"http://{private['MLENV_REGISTRY']}/v2/", timeout=10).status_code == 200
    pid = (Path(private["MLENV_SERVICES_STATE"]) / f"registry-{port}.pid").read_text()

    again = _run("setup-registry.sh", private)
    assert f"registry: {private['MLENV_REGISTRY']} answers" in again
    assert "moving" not in again
    assert (Path(private["MLENV_SERVICES_STATE"]) / f"registry-{port}.pid").read_text() == pid


def test_garbage_collection_runs_read_only_and_frees_deleted_images(
    private: dict[str, str], tmp_path: Path
) -> None:
    _run("setup-registry.sh", private)
    address = private["MLENV_REGISTRY"]
    docker = [os.environ.get("MLENV_DOCKER_CLI") or "docker", "-H", os.environ["DOCKER_HOST"]]
    payload = tmp_path / "payload"
    payload.mkdir()
    (payload / "blob").write_bytes(os.urandom(2_000_000))  # incompressible: 2 MB to free
    tarball = subprocess.run(
        ["tar", "-C", str(payload), "-c", "."], capture_output=True, check=True
    ).stdout
    image = f"{address}/gc/probe:1"
    subprocess.run([*docker, "import", "-", image], input=tarball, check=True, capture_output=True)
    subprocess.run([*docker, "push", image], check=True, capture_output=True)
    subprocess.run([*docker, "rmi", image], check=True, capture_output=True)
    with RegistryClient(address) as client:
        digest = client.digest_of("gc/probe", "1")
        assert digest is not None
        assert client.delete_manifest("gc/probe", digest) is True
        assert client.digest_of("gc/probe", digest) is None
        assert client.delete_manifest("gc/probe", digest) is False  # already gone

    said = _run("registry-gc.sh", private)
    assert "restarting" in said and "read-only" in said
    freed = int(said.rsplit("freed ", 1)[1].split()[0])
    assert freed >= 2_000_000
    # Read-write again: a push works.
    subprocess.run([*docker, "import", "-", image], input=tarball, check=True, capture_output=True)
    subprocess.run([*docker, "push", image], check=True, capture_output=True)
    subprocess.run([*docker, "rmi", image], check=True, capture_output=True)
    with RegistryClient(address) as client:
        assert client.digest_of("gc/probe", "1") is not None
