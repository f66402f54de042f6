"""Compute targets: parsing, reachability, and a run on the host and on the engine.
(Whole jobs on each kind: tests/runs.)"""

from __future__ import annotations

import os
import pickle
import socket
import sys

import docker
import pytest

from pulumi_mlenv.compute import (
    KINDS,
    ComputeTarget,
    DockerTarget,
    LocalTarget,
    SparkTarget,
    parse_target,
)
from pulumi_mlenv.compute.docker_target import RUN_LABEL
from pulumi_mlenv.errors import EngineError, MlenvError, SpecError

BASE_IMAGE = os.environ.get("MLENV_BASE_IMAGE", "127.0.0.1:5000/mlenv/python:3.11-bookworm")
DOCKER_HOST = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PARSED = [
    # (kind, url, type, url after parsing)
    ("local", None, LocalTarget, None),
    ("LOCAL", "", LocalTarget, None),
    ("docker", "unix:///var/run/docker.sock", DockerTarget, "unix:///var/run/docker.sock"),
    ("docker", "tcp://127.0.0.1:2375", DockerTarget, "tcp://127.0.0.1:2375"),
    ("docker", "ssh://ml@gpu-box", DockerTarget, "ssh://ml@gpu-box"),
    ("docker", None, DockerTarget, DOCKER_HOST),
    ("spark", "spark://127.0.0.1:7077", SparkTarget, "spark://127.0.0.1:7077"),
    ("spark", "spark://m1:7077,m2:7077", SparkTarget, "spark://m1:7077,m2:7077"),
]


@pytest.mark.parametrize(("kind", "url", "cls", "parsed_url"), PARSED)
def test_parse_target(kind: str, url: str | None, cls: type, parsed_url: str | None):
    target = parse_target(kind, url)
    assert isinstance(target, cls)
    assert isinstance(target, ComputeTarget)
    assert target.kind == kind.lower()
    assert target.url == parsed_url
    # Targets hold no live client: Pulumi pickles providers that may keep one.
    assert pickle.loads(pickle.dumps(target)) == target


INVALID = [
    # (kind, url, field, words in the message)
    ("k8s", None, "kind", "kind: unknown compute target kind 'k8s'; use one of: docker, local, ray, spark"),  # noqa: E501
    ("", None, "kind", "use one of: docker, local, ray, spark"),
    ("spark", None, "url", "a spark target needs its master URL"),
    ("spark", "http://127.0.0.1:7077", "url", "unsupported Spark master URL"),
    ("local", "unix:///var/run/docker.sock", "url", "takes no url"),
    ("docker", "http://127.0.0.1:2375", "url", "unsupported Docker engine URL 'http://127.0.0.1:2375'"),
    ("docker", "/var/run/docker.sock", "url", "use unix:///var/run/docker.sock, tcp://host:2375"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "url", "field", "says"), INVALID)
def test_bad_targets_name_the_field(kind: str, url: str | None, field: str, says: str):
    with pytest.raises(SpecError) as info:
        parse_target(kind, url)
    assert isinstance(info.value, MlenvError)
    assert [p.path for p in info.value.problems] == [field]
    assert says in str(info.value)
    assert set(KINDS) == {"docker", "local", "ray", "spark"}


# -- the host ------------------------------------------------------------------


def test_local_run_returns_exit_code_and_output():
    target = LocalTarget()
    target.check()
    code, out = target.run(
        "", [sys.executable, "-c", "import os, sys; print(os.environ['MODE']); sys.exit(3)"],
        {"MODE": "train"},
    )  # fmt: skip
    assert (code, out) == (3, "train\n")
    assert target.run("", [sys.executable, "-c", "print(42)"], {}) == (0, "42\n")


def test_local_run_of_a_missing_program_is_an_engine_error():
    with pytest.raises(EngineError, match="running '/no/such/python' on the host: No such file"):
        LocalTarget().run("", ["/no/such/python", "-c", "1"], {})


# -- a Docker engine -------------------------------------------------------------


@pytest.mark.docker
def test_the_local_engine_answers():
    DockerTarget(DOCKER_HOST).check()


UNREACHABLE = [
    ("unix:///nonexistent/docker.sock", "no such file or directory"),
    (f"tcp://127.0.0.1:{closed_port()}", "connection refused"),
    (f"ssh://nobody@127.0.0.1:{closed_port()}", ""),
]


@pytest.mark.parametrize(("url", "reason"), UNREACHABLE, ids=["unix", "tcp", "ssh"])
def test_unreachable_engines_give_one_line_naming_the_url(url: str, reason: str):
    with pytest.raises(EngineError) as info:
        DockerTarget(url).check()
    text = str(info.value)
    assert text.startswith(f"docker engine {url} unreachable: ")
    assert reason in text
    assert "\n" not in text


@pytest.mark.docker
def test_docker_run_on_the_base_image():
    target = parse_target("docker", DOCKER_HOST)
    engine = docker.DockerClient(base_url=DOCKER_HOST)
    try:
        assert target.run(BASE_IMAGE, ["python3", "-c", "print(42)"], {}) == (0, "42\n")
        code, out = target.run(
            BASE_IMAGE,
            ["python3", "-c", "import os, socket, sys; "
             "print(os.environ['MODE'], socket.gethostname()); sys.exit(7)"],
            {"MODE": "train"},
        )  # fmt: skip
        # Host networking: the container sees the host's name.
        assert (code, out) == (7, f"train {socket.gethostname()}\n")
        # Every run's container is removed (other tests' runs may come and go).
        left = engine.api.containers(all=True, filters={"label": RUN_LABEL})
        ours = [c["Command"] for c in left if "print(42)" in c["Command"] or "MODE" in c["Command"]]
        assert ours == []
    finally:
        engine.close()


@pytest.mark.docker
def test_docker_run_of_a_missing_image_is_an_engine_error():
    registry = os.environ.get("MLENV_REGISTRY", "127.0.0.1:5000")
    image = f"{registry}/mlenv-tests/never-pushed:none"
    with pytest.raises(EngineError, match=f"running {image} on {DOCKER_HOST}: "):
        DockerTarget(DOCKER_HOST).run(image, ["true"], {})
