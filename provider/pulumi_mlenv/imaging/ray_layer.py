"""Ray beside an environment, outside its hash: a small virtualenv layered
over the environment's own.

Ray's workers need ``ray`` importable at the cluster's version (without it
the raylet fails and the driver hangs). The environment's hash and lock must
not change for that, so the environment's virtualenv stays as it is and the
run uses a *layer*: ``<cache>/ray/layers/<env hash>-ray-<version>``, made
once per pair, whose own site-packages holds ray and those of its
dependencies the environment lacks, and whose ``.pth`` adds the
environment's site-packages. Ray's dependencies are resolved with the
environment's lock as constraints, so a package the environment has is
never installed twice at another version: every name the lock holds comes
from the environment, at the lock's version. The layer's ``added.txt`` lists
what it added, for the run record.

``pinned_ray`` and ``added_pins`` are pure.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from pulumi_mlenv.errors import BuildError
from pulumi_mlenv.imaging.builder import find_uv
from pulumi_mlenv.imaging.lock import lock_entry, parse_lock

__all__ = ["RayLayer", "added_pins", "pinned_ray", "ray_layer"]

_MARKER = ".mlenv-complete"
_PTH = "_mlenv_environment.pth"


@dataclass(frozen=True, slots=True)
class RayLayer:
    """``python``: the interpreter a Ray job runs; ``added``: the pins the
    layer added to the environment (empty when the environment has the
    cluster's ray itself); ``made``: made now (False: reused)."""

    python: Path
    added: tuple[str, ...]
    made: bool


def pinned_ray(lock: tuple[str, ...]) -> str | None:
    """The Ray version the lock pins, if any."""
    for line in lock:
        entry = lock_entry(line)
        if entry is not None and entry.name == "ray":
            return entry.version or entry.url
    return None


def added_pins(resolved: tuple[str, ...] | list[str], lock: tuple[str, ...]) -> tuple[str, ...]:
    """Pins of ``resolved`` whose names the lock does not hold (sorted)."""
    have = {e.name for e in map(lock_entry, lock) if e is not None}
    out = [str(e) for e in map(lock_entry, resolved) if e is not None and e.name not in have]
    return tuple(sorted(out))


def _site_packages(venv: Path) -> Path:
    found = sorted(glob.glob(str(venv / "lib" / "python*" / "site-packages")))
    if not found:
        raise BuildError(f"no site-packages in {venv}")
    return Path(found[-1])


def _run(command: list[str], what: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(what, log_tail=(done.stdout + done.stderr)[-3000:])
    return done.stdout


def ray_layer(env_venv: Path, lock: tuple[str, ...], ray_version: str, cache_dir: Path) -> RayLayer:
    """The layer of ``env_venv`` (whose lock is ``lock``) with ``ray==ray_version``."""
    env_python = env_venv / "bin" / "python"
    if pinned_ray(lock) == ray_version:
        return RayLayer(env_python, (), False)
    root = Path(cache_dir).expanduser() / "ray" / "layers"
    layer = root / f"{env_venv.name}-ray-{ray_version}"
    python = layer / "bin" / "python"
    if (layer / _MARKER).exists():
        return RayLayer(python, tuple((layer / "added.txt").read_text().split()), False)
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f"{layer.name}.lock")):
        if (layer / _MARKER).exists():
            return RayLayer(python, tuple((layer / "added.txt").read_text().split()), False)
        shutil.rmtree(layer, ignore_errors=True)
        uv = find_uv()
        constraints = root / f"{layer.name}.{os.getpid()}.constraints.txt"
        constraints.write_text("".join(f"{line}\n" for line in lock if "==" in line))
        try:
            resolved = _compile(uv, env_python, constraints, ray_version)
        finally:
            constraints.unlink(missing_ok=True)
        added = added_pins(parse_lock(resolved), lock)
        _run([uv, "venv", "--quiet", "--python", str(env_python), str(layer)], "making the layer")
        if added:
            _run(
                # Byte-code now: every worker imports ray, and PYTHONDONTWRITEBYTECODE
                # may keep Python from caching it.
                [uv, "pip", "install", "--quiet", "--no-deps", "--compile-bytecode",
                 "--python", str(python), *added],
                f"installing ray=={ray_version} into the layer",
            )  # fmt: skip
        site = _site_packages(env_venv)
        (_site_packages(layer) / _PTH).write_text(f"import site; site.addsitedir({str(site)!r})\n")
        (layer / "added.txt").write_text("".join(f"{p}\n" for p in added))
        (layer / _MARKER).write_text(f"{env_venv.name} ray=={ray_version}\n")
    return RayLayer(python, added, True)


def _compile(uv: str, python: Path, constraints: Path, ray_version: str) -> str:
    """``ray==VERSION`` and its dependencies, resolved within the constraints."""
    command = [
        uv, "pip", "compile", "-", "--quiet", "--no-header", "--no-annotate",
        "--python", str(python), "--constraint", str(constraints),
    ]  # fmt: skip
    done = subprocess.run(
        command, input=f"ray=={ray_version}\n", capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        reason = " ".join(done.stderr.split())[-400:]
        raise BuildError(
            f"ray=={ray_version} (the cluster's) cannot be added beside the environment's "
            f"packages: {reason}"
        )
    return done.stdout
