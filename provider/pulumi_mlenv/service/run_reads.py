"""Reading runs: the latest runs of a workspace, for ``mlenv run list``.

Kept apart from ``runs`` (submit, rerun), whose imports (compute targets,
the image path) a read does not need: the outside world's quick read answers
when it can (a SQLite workspace at the current schema, read with the
standard library), the run store otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pulumi_mlenv.service.compose import outside_or_real

if TYPE_CHECKING:
    from pulumi_mlenv.service.outside import Outside
    from pulumi_mlenv.workspace import RunRecord

__all__ = ["list_runs", "quick_list_runs"]


def list_runs(
    workspace_url: str, limit: int = 50, *, outside: Outside | None = None
) -> list[RunRecord]:
    """The latest runs, newest first."""
    io = outside_or_real(outside)
    quick = io.quick_runs(workspace_url, limit)
    if quick is not None:
        return quick
    store = io.runs(workspace_url)
    try:
        return store.list(limit)
    finally:
        store.close()


def quick_list_runs(
    workspace_url: str, limit: int, *, outside: Outside | None = None
) -> list[RunRecord] | None:
    """``list_runs`` when it can answer without opening the run store, else ``None``."""
    return outside_or_real(outside).quick_runs(workspace_url, limit)
