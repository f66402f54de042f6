"""A run's source folder, by content: a hash and a snapshot.

The hash covers each file's path (relative, POSIX) and bytes, in sorted
order: not modes, times or the folder's own path (so the same code hashes
the same on any machine). Left out: folders that are caches or tooling,
never code (``IGNORED``), the Pulumi project and stack files
(``Pulumi.yaml``, ``Pulumi.<stack>.yaml``: a ``pulumi config set`` is no
new code), and what the folder's ``.gitignore`` and ``.mlenvignore`` exclude
(git's rules, read with ``pathspec``; ``.mlenvignore`` may re-include with
``!``). The snapshot is a copy under
``<cache_dir>/sources/<hash>``, made once (renamed into place when whole)
and shared by every run of the same content: a run, and its rerun, read
exactly what was hashed, whatever happens to the folder afterwards.

A run never writes to either: it works in a private copy of the snapshot
(``working_copy``) whose ``outputs`` is a link to the run's outputs folder,
so ``./outputs`` (Azure ML's convention) is the run's outputs on every
target. A top-level ``outputs`` folder is therefore never part of the source.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pathspec

from pulumi_mlenv.service.folders import fill_once

__all__ = [
    "IGNORED", "IGNORE_FILES", "OUTPUTS", "file_hashes", "snapshot", "source_files",
    "source_hash", "working_copy",
]  # fmt: skip

#: The top-level folder a script writes what it keeps to: the run's outputs.
OUTPUTS = "outputs"

IGNORED = frozenset(
    {".git", ".hg", ".svn", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache",
     ".ruff_cache", ".ipynb_checkpoints", ".state"}
)  # fmt: skip


#: Files whose git-style patterns leave files out of the source.
IGNORE_FILES = (".gitignore", ".mlenvignore")
#: Pulumi's own files: the project, and each stack's configuration.
_PULUMI_FILES = ("Pulumi.yaml", "Pulumi.yml", "Pulumi.*.yaml", "Pulumi.*.yml")


def _ignore_spec(folder: Path) -> pathspec.GitIgnoreSpec:
    # A top-level outputs/ belongs to runs; one deeper down is the code's data.
    lines = [f"/{name}" for name in _PULUMI_FILES] + [f"/{OUTPUTS}/"]
    for name in IGNORE_FILES:
        path = folder / name
        if path.is_file():
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    return pathspec.GitIgnoreSpec.from_lines(lines)


def source_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """``(relative POSIX path, path)`` of every file under ``folder``, sorted,
    without ``IGNORED`` folders, byte-code files, the top-level ``outputs``
    folder, Pulumi's project and stack files, and what ``.gitignore`` / ``.mlenvignore`` exclude."""
    spec = _ignore_spec(folder)
    found: list[tuple[str, Path]] = []
    for base, dirs, files in os.walk(folder):
        rel_base = Path(base).relative_to(folder).as_posix()
        prefix = "" if rel_base == "." else f"{rel_base}/"
        dirs[:] = [d for d in dirs if d not in IGNORED and not spec.match_file(f"{prefix}{d}/")]
        for name in files:
            rel = f"{prefix}{name}"
            if name.endswith((".pyc", ".pyo")) or spec.match_file(rel):
                continue
            path = Path(base) / name
            if path.is_file():
                found.append((rel, path))
    yield from sorted(found)


def file_hashes(folder: Path) -> dict[str, str]:
    """Each source file's sha256, by relative path (what ``source_hash`` covers)."""
    out: dict[str, str] = {}
    for rel, path in source_files(folder):
        content = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                content.update(block)
        out[rel] = content.hexdigest()
    return out


def source_hash(folder: Path, files: dict[str, str] | None = None) -> str:
    """sha256 over the sorted paths and contents of ``source_files``
    (``files``: their ``file_hashes`` when already read)."""
    digest = hashlib.sha256()
    for rel, content in sorted((files if files is not None else file_hashes(folder)).items()):
        digest.update(f"{rel}\0{content}\n".encode())
    return digest.hexdigest()


def snapshot(folder: Path, cache_dir: Path) -> tuple[str, Path]:
    """``(hash, snapshot folder)`` of ``folder``; copies only when this
    content has no snapshot yet."""
    folder = Path(folder)
    digest = source_hash(folder)

    def fill(partial: Path) -> None:
        for rel, path in source_files(folder):
            dest = partial / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)

    target = Path(cache_dir).expanduser() / "sources" / digest
    return digest, fill_once(target, fill, prefix=f".{digest[:12]}-")


def working_copy(snapshot_dir: Path, run_folder: Path) -> Path:
    """``<run_folder>/work``: a copy of the snapshot the script may write
    to, whose ``outputs`` links (relatively) to ``<run_folder>/outputs``, so
    the link resolves the same inside a container that mounts both side by side."""
    work = Path(run_folder) / "work"

    def leave_out(folder: str, names: list[str]) -> list[str]:
        return [OUTPUTS] if Path(folder) == Path(snapshot_dir) and OUTPUTS in names else []

    shutil.copytree(snapshot_dir, work, ignore=leave_out)
    (work / OUTPUTS).symlink_to(Path("..") / OUTPUTS, target_is_directory=True)
    return work
