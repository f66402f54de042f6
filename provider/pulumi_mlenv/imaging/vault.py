"""Where files that hold secrets live while a build runs: the requirements
with index tokens, the index options, the Docker config with registry
logins, the CA bundle.

A memory-backed folder (``/dev/shm``) private to the user (mode 0700), so
nothing secret is ever written to a disk; each build's folder is removed
when the build ends, and folders left by a process that was killed (no
``finally`` runs after ``kill -9``) are swept the next time one is made.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["build_folders", "sweep", "vault", "vault_base", "work_folder"]


def vault_base() -> Path:
    """The user's folder of build vaults: in ``/dev/shm`` when it is there
    (memory), else in the temporary folder; made with mode 0700."""
    shm = Path("/dev/shm")
    parent = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    base = parent / f"pulumi-mlenv-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    os.chmod(base, 0o700)  # an existing folder too: nobody else may list it
    return base


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    return True


def sweep(base: Path) -> list[Path]:
    """Remove the vaults of processes that are gone; returns what was removed."""
    removed: list[Path] = []
    for child in base.iterdir():
        pid_text = child.name.split("-", 2)[1] if child.name.count("-") >= 2 else ""
        if pid_text.isdigit() and not _alive(int(pid_text)):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


@contextmanager
def vault(purpose: str) -> Iterator[Path]:
    """A private folder for one build's secret files, removed when the block
    ends (stale ones of dead processes are swept first)."""
    base = vault_base()
    sweep(base)
    folder = Path(tempfile.mkdtemp(prefix=f"{purpose}-{os.getpid()}-", dir=base))
    try:
        yield folder
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(folder)


@contextmanager
def work_folder(base: Path, purpose: str) -> Iterator[Path]:
    """A fresh folder under ``base`` for one build's context, named after this
    process so that the next build sweeps it should this process be killed
    (SIGKILL runs no cleanup); removed when the block ends."""
    base.mkdir(parents=True, exist_ok=True)
    sweep(base)
    folder = Path(tempfile.mkdtemp(prefix=f"{purpose}-{os.getpid()}-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def build_folders(base: Path, purpose: str) -> Iterator[tuple[Path, Path]]:
    """``(root, private)`` for one build: ``root`` a ``work_folder`` only
    this user may read (the build's files), ``private`` its ``vault`` (the
    secret files: in memory, never on disk)."""
    with work_folder(base, purpose) as root, vault(purpose) as private:
        os.chmod(root, 0o700)
        yield root, private
