"""When a ``Run`` resource runs again, and why, in words (pure).

A run is a result of its inputs: the environment (by hash: a new version
with the same hash is the same environment), the source folder (by content
hash), the script, its arguments and the compute target. Any change to one
of them makes a new run (a replacement: the old run stays recorded, as
history); nothing else does (the workspace path, say, moves no result). A
value unknown during preview (an environment being rebuilt) counts as
changed and is said so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_mlenv.policy.unknown import UNKNOWN as _UNKNOWN

__all__ = ["RUN_INPUTS", "RunDecision", "decide_run"]

#: Inputs whose change makes a new run, with how a change is said.
RUN_INPUTS = ("env_hash", "source_hash", "script", "arguments", "compute")


@dataclass(frozen=True, slots=True)
class RunDecision:
    """``replaces``: the changed inputs (empty: nothing to run);
    ``reasons``: one line per change."""

    replaces: tuple[str, ...]
    reasons: tuple[str, ...]


def _short(value: Any) -> str:
    return "(known after the environment is ready)" if value == _UNKNOWN else str(value)[:12]


#: File names a reason lists before "and N more".
_LISTED = 5


def _changed_files(old: Any, new: Any) -> str:
    """``changed a.py, added b.py, removed c.txt`` from two ``{path: hash}``
    listings ('' when either is missing)."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return ""
    parts = []
    for word, names in (
        ("changed", sorted(k for k in new if k in old and old[k] != new[k])),
        ("added", sorted(k for k in new if k not in old)),
        ("removed", sorted(k for k in old if k not in new)),
    ):
        if names:
            more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
            parts.append(f"{word} {', '.join(names[:_LISTED])}{more}")
    return "; ".join(parts)


def _reason(key: str, old: Any, new: Any, olds: Mapping[str, Any], news: Mapping[str, Any]) -> str:
    if key == "env_hash":
        label = f"{news.get('env_name', '')}:{news.get('env_version', '')}".strip(":")
        was = f"{olds.get('env_name', '')}:{olds.get('env_version', '')}".strip(":")
        versions = f" ({was} -> {label})" if label and was and label != was else ""
        return f"environment changed: hash {_short(old)} -> {_short(new)}{versions}"
    if key == "source_hash":
        files = _changed_files(olds.get("source_files"), news.get("source_files"))
        return f"source changed: content hash {_short(old)} -> {_short(new)}" + (
            f" ({files})" if files else ""
        )
    if key == "arguments":
        return f"arguments changed: {list(old or [])} -> {list(new or [])}"
    return f"{key} changed: {old} -> {new}"


def decide_run(olds: Mapping[str, Any], news: Mapping[str, Any]) -> RunDecision:
    """What changed between the recorded inputs ``olds`` and ``news``."""
    changed = []
    for key in RUN_INPUTS:
        old, new = olds.get(key), news.get(key)
        if key == "arguments":
            old, new = list(old or []), list(new or [])
        if old != new or new == _UNKNOWN:
            changed.append(key)
    return RunDecision(
        replaces=tuple(changed),
        reasons=tuple(_reason(k, olds.get(k), news.get(k), olds, news) for k in changed),
    )
