"""The registry stops in the middle of a docker run's pull (a registry of
the test's own behind a proxy that slows the pull down, both stopped once
3 MB of a 30 MB layer have passed): the run fails with one line that
blames the registry by address and says how far the pull got, its record
says failed and why, no container or image is left, and a rerun with the
registry back converges on the same digest."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import docker
import pytest

from pulumi_mlenv.compute.docker_target import RUN_LABEL
from support.private_registry import free_port, private_registry
from support.runs import Cli
from support.slow_proxy import slow_proxy

pytestmark = pytest.mark.docker

#: Random bytes: a layer that does not compress, so the pull takes long
#: enough at the proxy's slow rate to be stopped in its middle; a marker
#: of the test's own, so that neither BuildKit's cache nor the engine's
#: layers from an earlier run make the pull short.
DEFINITION = """\
name: pulled
python:
  conda:
    dependencies:
      - python=3.11
      - pip:
          - six==1.16.0
docker:
  steps:
    - RUN echo {marker} > /opt/marker && head -c 30000000 /dev/urandom > /opt/ballast
"""


def _containers(run_id: str) -> list[object]:
    client = docker.from_env()
    try:
        return list(client.api.containers(all=True, filters={"label": f"{RUN_LABEL}={run_id}"}))
    finally:
        client.close()


def _engine_has(image: str) -> bool:
    client = docker.from_env()
    try:
        return any(image in (i.get("RepoDigests") or []) for i in client.api.images(all=True))
    finally:
        client.close()


def test_a_registry_stopped_mid_pull_fails_the_run_in_one_line_and_a_rerun_converges(
    machine: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "env").mkdir()
    env_file = tmp_path / "env" / "mlenv.yml"
    env_file.write_text(DEFINITION.format(marker=uuid.uuid4().hex))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print('ran', flush=True)\n")
    (tmp_path / "reg").mkdir()
    backend_port, front_port = free_port(), free_port()
    with (
        private_registry(tmp_path / "reg", backend_port) as (_, registry),
        slow_proxy(("127.0.0.1", backend_port), front_port) as proxy,
    ):
        cli = Cli(tmp_path, MLENV_REGISTRY=f"{proxy.address}/faults")
        built = cli("env", "build", str(env_file), "--json")
        assert built.returncode == 0, built.stderr[-3000:]
        image = json.loads(built.stdout)["image"]
        assert image.startswith(f"{proxy.address}/faults/") and not _engine_has(image)
        # The pull crawls; once 3 MB have passed the registry goes away.
        proxy.slow(2_000_000)
        proxy.when(3_000_000, lambda: (proxy.stop(), registry.kill()))
        done = cli("run", "submit", str(tmp_path / "src" / "main.py"), "--env",
                   str(env_file), "--compute", "docker")  # fmt: skip
    assert registry.poll() is not None  # it was stopped mid-pull
    assert done.returncode != 0
    print(done.stderr)
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: registry {proxy.address} stopped answering while the engine "
                           f"pulled {image}"), done.stderr[-3000:]  # fmt: skip
    assert " MB of " in last and "the run did not start" in last
    [run] = cli.runs()
    assert run["status"] == "failed" and proxy.address in (run.get("error") or ""), run
    assert _containers(run["id"]) == [] and not _engine_has(image)
    # The registry back (same storage, same address): the rerun pulls and runs.
    with (
        private_registry(tmp_path / "reg", backend_port),
        slow_proxy(("127.0.0.1", backend_port), front_port),
    ):
        again = cli("run", "rerun", run["id"], "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    rerun = json.loads(again.stdout)
    assert (rerun["status"], rerun["rerun_of"]) == ("completed", run["id"])
    assert rerun["environment"]["image"] == image and _engine_has(image)
    assert _containers(rerun["id"]) == []
    client = docker.from_env()
    try:  # the 30 MB image is the test's own
        client.images.remove(image, force=True)
    finally:
        client.close()
