"""Pack a host virtualenv into an archive that Spark ships to its executors.

Built once per environment hash (``<cache_dir>/spark/archives/<hash>.tar.gz``)
under a cross-process lock, written to a temporary name and renamed, so a
crashed attempt never looks whole; later runs reuse it. Like venv-pack, the
archive holds the virtualenv (its ``bin/python`` stays a link to the
interpreter it was made from, which must exist at the same path on the
workers); entries are sorted and their owners and times normalised, so the
same virtualenv packs to the same bytes.
"""

from __future__ import annotations

import gzip
import os
import tarfile
from pathlib import Path

from filelock import FileLock

__all__ = ["archive_path", "pack_environment"]

#: Left out of the archive: markers of ours and byte-code caches.
_SKIP = {".mlenv-complete", "__pycache__"}


def archive_path(cache_dir: Path, env_hash: str) -> Path:
    """Where the packed environment of ``env_hash`` lives."""
    return Path(cache_dir).expanduser() / "spark" / "archives" / f"{env_hash}.tar.gz"


def _normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def _add_tree(tar: tarfile.TarFile, root: Path) -> None:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP)
        base = Path(folder)
        for name in sorted([*dirs, *files]):
            if name in _SKIP:
                continue
            path = base / name
            arcname = path.relative_to(root).as_posix()
            if path.is_dir() and not path.is_symlink():
                tar.add(path, arcname, recursive=False, filter=_normalised)
            else:
                tar.add(path, arcname, filter=_normalised)


def pack_environment(venv: Path, cache_dir: Path, env_hash: str) -> tuple[Path, bool]:
    """The archive of ``venv`` for ``env_hash`` and whether this call packed
    it (``False``: reused from the cache)."""
    target = archive_path(cache_dir, env_hash)
    if target.exists():
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.with_suffix(".lock"))):
        if target.exists():  # packed by another process while we waited
            return target, False
        partial = target.with_name(f".{env_hash}.{os.getpid()}.partial")
        try:
            # mtime=0 in the gzip header too: the same venv, the same bytes.
            with (
                partial.open("wb") as raw,
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=3, mtime=0) as gz,
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
            ):
                _add_tree(tar, venv)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return target, True
