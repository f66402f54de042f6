"""Content digests of files and folders (models, scoring code).

Content only: the digest covers each file's path relative to the root (a
single file: its name) and its bytes; never modes, mtimes, owners or the
absolute location, so the same files hash the same on every machine.
Byte-compiled caches and VCS folders are skipped.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ARTIFACT_RECIPE", "TreeDigest", "file_sha256", "tree_digest"]

#: Bump when what the digest covers changes.
ARTIFACT_RECIPE = "mlenv-artifact-v1"
_SKIP_DIRS = frozenset({"__pycache__", ".git", ".hg", ".svn", ".ipynb_checkpoints"})
_SKIP_SUFFIXES = (".pyc", ".pyo")
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class TreeDigest:
    """``digest`` (``sha256:...``), the files (relative POSIX paths, sorted)
    and their total size in bytes."""

    digest: str
    files: tuple[str, ...]
    size: int


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in chunks (models are large);
    also the digest of each file of a build context."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _walk(root: Path) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in names:
            if name.endswith(_SKIP_SUFFIXES):
                continue
            full = Path(folder) / name
            if full.is_file():
                found.append((full.relative_to(root).as_posix(), full))
    return sorted(found)


def tree_digest(path: str | Path) -> TreeDigest:
    """The digest of a file or a folder's files. Raises ``FileNotFoundError``
    when ``path`` does not exist, ``ValueError`` for an empty folder."""
    root = Path(path)
    if root.is_file():
        entries = [(root.name, root)]
    elif root.is_dir():
        entries = _walk(root)
        if not entries:
            raise ValueError(f"{root} holds no files")
    else:
        raise FileNotFoundError(str(root))
    h = hashlib.sha256(f"{ARTIFACT_RECIPE}\n".encode())
    size = 0
    for rel, full in entries:
        n = full.stat().st_size
        size += n
        h.update(f"{rel}\0{n}\0{file_sha256(full)}\n".encode())
    return TreeDigest(f"sha256:{h.hexdigest()}", tuple(rel for rel, _ in entries), size)
