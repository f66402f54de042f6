"""ensure_image with conda packages beyond python and pip (R10), on the real
BuildKit daemon and registry.

No conda channel (anaconda.org, conda-forge) is reachable from this machine,
so a real micromamba cannot install anything here. These tests use a *fake*
micromamba instead: a shell script at /usr/local/bin/micromamba in a small
test base image (the local base plus the script, pushed to the test's own
registry namespace). It records the arguments of ``create`` in the prefix,
makes the prefix a Python venv from the base's python3 (so the pip step
works) and answers ``list --json`` with the requested packages at fake
versions (the version written in the spec, else 9.9.9). What is tested is
ours: the probe, the command line, the pip step into the environment, the
lock and the image layout; not micromamba's solver.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.errors import SpecError
from pulumi_mlenv.imaging.buildkit import StepEvent
from pulumi_mlenv.service import ensure_image, materialize_local
from pulumi_mlenv.service.resolved import resolve
from support.fake_conda import push_fake_micromamba_base as _push_fake_micromamba_base
from support.services import env_tags, fresh_settings

pytestmark = pytest.mark.docker

ARGS_FILE = "/opt/mlenv/venv/conda-meta/fake-create-args"


@pytest.fixture
def settings(tmp_path: Path, machine: dict[str, str]) -> Settings:
    """Settings with a fresh workspace-registry namespace and cache folder."""
    return fresh_settings(tmp_path)


def _conda_spec(base: str | None, channels: list[str], deps: list[Any]) -> Any:
    data: dict[str, Any] = {
        "name": "c",
        "python": {"conda": {"channels": channels, "dependencies": deps}},
    }
    if base:
        data["docker"] = {"base_image": base}
    return parse_definition(data)


def _run_in(image: str, script: str) -> str:
    docker = "/usr/bin/docker"
    subprocess.run([docker, "pull", "-q", image], check=True, capture_output=True)
    return subprocess.run(
        [docker, "run", "--rm", image, "sh", "-c", script],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_conda_packages_are_made_with_the_base_images_micromamba(
    settings: Settings, tmp_path: Path, installer: str
) -> None:
    base = _push_fake_micromamba_base(settings, tmp_path)
    deps = ["python=3.11", "numpy=1.26", "zlib", {"pip": ["six==1.16.0"]}]
    spec = _conda_spec(base, ["conda-forge", "bioconda"], deps)
    result = ensure_image(
        resolve(spec, replace(settings, installer=installer)),
        settings=replace(settings, installer=installer),
    )
    assert result.built
    # The fake's venv brings pip (and setuptools); uv's freeze lists them.
    ours = tuple(x for x in result.lock if not x.startswith(("pip==", "setuptools==")))
    assert ours == ("numpy==1.26", "python==3.11", "six==1.16.0", "zlib==9.9.9")
    out = _run_in(
        result.image,
        f"cat {ARGS_FILE}; echo ---; cat /opt/mlenv/lock.txt; echo ---;"
        " python -c 'import six, sys; print(six.__version__, sys.prefix)'",
    )
    args, lock, runtime = out.split("---\n")
    assert args.split() == [
        "--yes",
        "--quiet",
        "--prefix",
        "/opt/mlenv/venv",
        "--override-channels",
        "-c",
        "conda-forge",
        "-c",
        "bioconda",
        "--strict-channel-priority",
        "python=3.11",
        "numpy=1.26",
        "zlib",
    ]
    assert sorted(lock.split()) == list(result.lock)
    assert runtime.split() == ["1.16.0", "/opt/mlenv/venv"]
    assert env_tags(settings) == [result.env_hash]
    again = ensure_image(
        resolve(spec, replace(settings, installer=installer)),
        settings=replace(settings, installer=installer),
    )
    assert not again.built and again.digest == result.digest


def test_conda_packages_on_a_base_without_conda_fail_at_the_probe(settings: Settings) -> None:
    spec = _conda_spec(None, [], ["python=3.11", "numpy=1.26", "zlib", {"pip": ["six==1.16.0"]}])
    events: list[StepEvent] = []
    with pytest.raises(SpecError) as info:
        ensure_image(resolve(spec, settings), settings=settings, progress=events.append)
    assert str(info.value) == (
        "python.conda.dependencies: mlenv: conda packages numpy=1.26, zlib need conda or"
        " micromamba in the base image (none found on PATH); use a base image with"
        " micromamba, or move them to the pip list"
    )
    assert "end of build log" not in str(info.value)
    names = [e.name for e in events]
    assert any("for t in micromamba" in n for n in names)  # the probe ran...
    assert not any("--mount=" in n for n in names)  # ...and nothing after it
    assert env_tags(settings) == []


def test_a_local_virtualenv_refuses_conda_packages(settings: Settings) -> None:
    spec = _conda_spec(None, [], ["python=3.11", "numpy=1.26", {"pip": ["six==1.16.0"]}])
    with pytest.raises(SpecError, match=r"cannot hold conda packages \(numpy=1.26\)"):
        materialize_local(spec, settings)
    assert not (Path(settings.cache_dir) / "venvs").exists()
