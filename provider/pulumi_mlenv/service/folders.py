"""Folders named by their content, written once: the model store's copies
(``models``) and the runs' source snapshots (``sources``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["fill_once"]


def fill_once(target: Path, fill: Callable[[Path], None], *, prefix: str) -> Path:
    """``target``, made by ``fill`` (given an empty temporary folder beside
    it) when missing, then renamed into place: never half a folder. The
    content is the name's, so a folder another process renamed there
    meanwhile is as good as ours."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    try:
        fill(partial)
        try:
            partial.rename(target)
        except OSError:  # another process filled the same folder meanwhile
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target
