"""Reading runs: the latest runs of a workspace, for ``mlenv run list``.

Kept apart from ``runs`` (submit, rerun), whose imports (compute targets,
the image path) a read does not need: on a SQLite workspace this answers
with the standard library, elsewhere (or when the schema must move first)
through the store.
"""

from __future__ import annotations

from pulumi_mlenv.workspace.run_reads import try_list_runs
from pulumi_mlenv.workspace.runs import RunRecord

__all__ = ["list_runs", "quick_list_runs"]


def list_runs(workspace_url: str, limit: int = 50) -> list[RunRecord]:
    """The latest runs, newest first."""
    fast = try_list_runs(workspace_url, limit)
    if fast is not None:
        return fast
    from pulumi_mlenv.workspace.runs import RunStore

    store = RunStore(workspace_url)
    try:
        return store.list(limit)
    finally:
        store.close()


def quick_list_runs(workspace_url: str, limit: int) -> list[RunRecord] | None:
    """``list_runs`` when the standard library can answer alone, else ``None``."""
    return try_list_runs(workspace_url, limit)
