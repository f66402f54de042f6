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
    from pulumi_mlenv.service.outside import Outside, RunStore
    from pulumi_mlenv.workspace import RunRecord

__all__ = ["get_run", "list_runs", "quick_list_runs", "sweep_lost"]


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
        sweep_lost(store, io)  # a run whose process died is lost, its container removed
        return store.list(limit)
    finally:
        store.close()


def quick_list_runs(
    workspace_url: str, limit: int, *, outside: Outside | None = None
) -> list[RunRecord] | None:
    """``list_runs`` when it can answer without opening the run store, else ``None``."""
    return outside_or_real(outside).quick_runs(workspace_url, limit)


def sweep_lost(store: RunStore, io: Outside) -> None:
    """Record ``lost`` the runs whose process died (every read does), and
    have their target remove what such a run left there (a container, a
    cluster's job): any target with ``remove_job`` is asked."""
    for lost in store.sweep():
        try:
            target = io.compute(lost.compute_kind, lost.compute_url)
        except Exception:  # a target that cannot even be named leaves nothing to ask
            continue
        remove = getattr(target, "remove_job", None)
        if remove is not None:
            remove(lost.id)


def get_run(run_id: str, workspace_url: str, *, outside: Outside | None = None) -> RunRecord:
    """The run with this id (or unique prefix)."""
    io = outside_or_real(outside)
    store = io.runs(workspace_url)
    try:
        sweep_lost(store, io)
        return store.get(run_id)
    finally:
        store.close()
