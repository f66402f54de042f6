"""The uv a build, a host virtualenv or a Ray layer runs must be one the
recipe was made with (``definition.UV_VERSIONS``): uv resolves unpinned
packages and lays out the virtualenv, so another uv could put other
packages under the same hash. Outside the range it is refused before
anything is built, with the range and the install command to fix it."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from pulumi_mlenv.definition import RECIPE_VERSION, UV_VERSIONS
from pulumi_mlenv.errors import BuildError

__all__ = ["check_uv", "uv_version"]


def uv_version(path: str) -> str:
    """The version ``path --version`` reports (``uv 0.13.9 (...)`` -> ``0.13.9``)."""
    info = Path(path).stat()
    return _version(path, info.st_size, info.st_mtime_ns)


@lru_cache(maxsize=8)
def _version(path: str, size: int, mtime: int) -> str:
    # Keyed on size and time too: an upgraded binary at the same path is asked again.
    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError) as err:
        raise BuildError(f"uv at {path} did not say its version: {err}") from None
    words = done.stdout.split()
    return words[1] if len(words) > 1 and words[0] == "uv" else done.stdout.strip()


def check_uv(path: str, allowed: str = UV_VERSIONS) -> str:
    """``path`` when its uv is in ``allowed``; else ``BuildError`` naming the
    version found, the range and the fix."""
    found = uv_version(path)
    try:
        inside = Version(found) in SpecifierSet(allowed)
    except InvalidVersion:
        inside = False
    if not inside:
        raise BuildError(
            f"uv {found} (at {path}) is outside the versions this build recipe "
            f"({RECIPE_VERSION}) is made with, uv{allowed}: another uv may resolve other "
            "packages under the same environment hash. Install one in the range: "
            f"pip install 'uv{allowed}' (or reinstall pulumi-mlenv, which pins it)"
        )
    return path
