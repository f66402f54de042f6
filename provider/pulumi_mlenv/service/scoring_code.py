"""A deployment's scoring code: where its entry script is, its digests
(read and hashed once per ``pulumi up``), and the copy of it that goes into
the inference image."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from pulumi_mlenv.definition.artifacts import tree_digest
from pulumi_mlenv.errors import SpecError

__all__ = ["Code", "code_folder", "code_of", "resolve_entry"]


@dataclass(frozen=True, slots=True)
class Code:
    """The scoring code: ``entry`` (path relative to the code folder),
    ``entry_hash`` (the script alone), ``source_hash`` (the source folder,
    None without one) and ``code_hash`` (all of it: keys the image)."""

    entry: str
    entry_hash: str
    source_hash: str | None
    code_hash: str


def resolve_entry(entry_script: str, source: str | None) -> tuple[Path, Path | None]:
    """The entry script's path (relative ones are inside ``source``) and
    the source folder (None without one)."""
    entry = Path(entry_script)
    root = Path(source) if source else None
    if root is not None and not entry.is_absolute():
        entry = root / entry
    return entry, root


def code_of(entry_script: str, source: str | None) -> Code:
    """Digests of the scoring code. Raises ``SpecError`` naming
    ``entry_script`` or ``source`` when a path is missing or misplaced."""
    entry, root = resolve_entry(entry_script, source)
    if root is not None and not root.is_dir():
        raise SpecError.at("source", f"no folder at {root}", "give the folder holding the code")
    if not entry.is_file():
        raise SpecError.at("entry_script", f"no file at {entry}", "give the scoring script's path")
    entry_hash = tree_digest(entry).digest
    if root is None:
        return Code(entry.name, entry_hash, None, _sha(entry.name, entry_hash))
    try:
        rel = entry.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise SpecError.at(
            "entry_script",
            f"{entry} is not inside the source folder {root}",
            "give a path inside source= (or relative to it)",
        ) from None
    source_hash = tree_digest(root).digest
    return Code(rel, entry_hash, source_hash, _sha(rel, source_hash))


def _sha(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


def code_folder(entry_script: str, source: str | None, into: Path) -> Path:
    """A copy of the code under ``into/code`` (the source folder without
    caches and VCS data, or the script alone) for the image build."""
    entry, root = resolve_entry(entry_script, source)
    folder = into / "code"
    if root is None:
        folder.mkdir(parents=True)
        shutil.copy2(entry, folder / entry.name)
    else:
        shutil.copytree(
            root, folder, ignore=shutil.ignore_patterns("__pycache__", ".git", "*.pyc", "*.pyo")
        )
    return folder
