"""The uv that builds is one the recipe was made with: inside
``UV_VERSIONS`` it is used, outside it nothing is built and the error says
the version found, the range and the install command. The range is said in
pyproject.toml too (a fresh clone installs a uv inside it)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from pulumi_mlenv.definition import RECIPE_VERSION, UV_VERSIONS
from pulumi_mlenv.errors import BuildError
from pulumi_mlenv.imaging.builder import find_uv
from pulumi_mlenv.imaging.installer import check_uv, uv_version

ROOT = Path(__file__).resolve().parents[2]


def _fake_uv(folder: Path, version: str) -> str:
    """A stand-in binary that answers ``--version`` like uv (the real one
    cannot be had at another version here)."""
    path = folder / "uv"
    path.write_text(f"#!/bin/sh\necho 'uv {version} (0000000 2026-01-01)'\n")
    path.chmod(0o755)
    return str(path)


def test_the_installed_uv_is_inside_the_recipes_range() -> None:
    path = find_uv()
    assert check_uv(path) == path


@pytest.mark.parametrize("version", ["0.4.30", "0.12.9", "0.14.0", "1.0.0", "garbled"])
def test_a_uv_outside_the_range_is_refused_with_the_fix(tmp_path: Path, version: str) -> None:
    path = _fake_uv(tmp_path, version)
    with pytest.raises(BuildError) as err:
        check_uv(path)
    said = str(err.value)
    assert f"uv {version}" in said
    assert f"uv{UV_VERSIONS}" in said
    assert f"recipe ({RECIPE_VERSION})" in said
    assert f"pip install 'uv{UV_VERSIONS}'" in said


def test_a_uv_upgraded_in_place_is_asked_again(tmp_path: Path) -> None:
    path = _fake_uv(tmp_path, "0.13.1")
    assert uv_version(path) == "0.13.1"
    _fake_uv(tmp_path, "0.14.2")
    stat = Path(path).stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert uv_version(path) == "0.14.2"
    with pytest.raises(BuildError):
        check_uv(path)


def test_pyproject_pins_uv_to_the_recipes_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    found = [Requirement(r) for r in project["project"]["dependencies"]]
    uv = [r.specifier for r in found if r.name == "uv"]
    assert uv == [Requirement(f"uv{UV_VERSIONS}").specifier]
