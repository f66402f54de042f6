"""Forced rebuilds: the ones ``diff`` decided, remembered for ``create`` in
this provider process, and what a forced rebuild says when it is done."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pulumi_mlenv.service.images import EnsureResult

__all__ = ["forced_rebuild_message", "rebuild_requested", "request_rebuild"]

# Forced rebuilds decided by ``diff``, as (name, rebuild_trigger), taken by
# ``create``. The Pulumi engine re-runs ``check`` with empty old inputs before
# creating a replacement, so no input can carry "forced" from the diff to the
# create (pulumi-notes.md); both run in one provider process during an update,
# and a preview's decisions die with its process.
_rebuilds: set[tuple[str, str]] = set()
_rebuilds_lock = threading.Lock()


def request_rebuild(name: str, trigger: str) -> None:
    """Remember that the environment ``name`` must be rebuilt for ``trigger``."""
    with _rebuilds_lock:
        _rebuilds.add((name, trigger))


def rebuild_requested(name: str, trigger: str) -> bool:
    """True when ``request_rebuild(name, trigger)`` was called in this process."""
    with _rebuilds_lock:
        return (name, trigger) in _rebuilds


def forced_rebuild_message(env_hash: str, result: EnsureResult) -> str:
    """What a forced rebuild says: where the hash's tag went, or that the
    rebuild gave the same digest (a reproducible build: nothing moved)."""
    if result.previous_digest is None:
        head = f"forced rebuild: {env_hash[:12]} built from scratch: {result.digest}"
    elif result.previous_digest == result.digest:
        head = (
            f"forced rebuild: {env_hash[:12]} rebuilt from scratch gave the same digest "
            f"{result.digest} (a reproducible build); its tag did not move"
        )
    else:
        head = (
            f"forced rebuild: tag {env_hash[:12]} moved from {result.previous_digest} "
            f"(still pullable by digest) to {result.digest}"
        )
    return (
        head
        + "; versions sharing this hash: "
        + (", ".join(result.shared_versions) or "none")
        + "; package changes: "
        + (", ".join(result.lock_changes) or "none")
    )
