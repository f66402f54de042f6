"""The workspace: where environment versions, images and compute targets are recorded.

A ``Workspace`` opens one SQLAlchemy engine on any URL (a plain path means a
SQLite file) and brings its schema up to date on open (``workspace.schema``,
Alembic). Every method is one short transaction, so several processes can
share one workspace: SQLite is put in WAL mode with a busy timeout and
``BEGIN IMMEDIATE``; elsewhere a unique constraint on ``(name, version)`` plus
a retry settles concurrent numbering.

Versions are history (docs/workspace.md): a ``(name, version)`` always means
the hash it was first registered with; nothing deletes a version. Holders
(stacks, runs, deployments) hold versions; a version nobody holds any more is
*archived*: hidden from default listings, still resolvable.

Secrets are never stored here: the resource layer hands over variable values
it may store and marks secret ones itself.
"""

from __future__ import annotations

from sqlalchemy import func, select

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.workspace._image_store import ImageStore
from pulumi_mlenv.workspace._layer_store import LayerStore
from pulumi_mlenv.workspace._lease_store import LeaseStore
from pulumi_mlenv.workspace._rows import (
    KEEP,
    Pairs,
    _delete_rows,
    _safe_url,
    _target,
)
from pulumi_mlenv.workspace._tables import (
    ComputeTargetRow,
    VersionRow,
    shared_engine,
)
from pulumi_mlenv.workspace._version_store import VersionStore
from pulumi_mlenv.workspace.reconnect import reconnect_methods
from pulumi_mlenv.workspace.records import (
    ComputeTargetRecord,
    now,
)
from pulumi_mlenv.workspace.schema import SchemaTooNew, driver_hint, opening_errors, upgrade
from pulumi_mlenv.workspace.sqlite_file import check_sqlite_url
from pulumi_mlenv.workspace.urls import normalise_url

__all__ = ["KEEP", "Pairs", "Workspace"]


class Workspace(VersionStore, ImageStore, LayerStore, LeaseStore):
    """A workspace store on ``url``: a plain path (SQLite file, made absolute),
    ``sqlite:///...``, or any SQLAlchemy URL (``postgresql+psycopg://...``).

    Opening creates the tables when missing and upgrades an older schema
    (one line on stderr); a schema newer than this code raises
    ``SchemaTooNew``. Objects on one URL share one engine per process; call
    ``close()`` (or use ``with``) when done. Do not keep one in a Pulumi
    provider object: open one per operation.
    """

    def __init__(self, url: str) -> None:
        try:
            self.url = normalise_url(url)
            check_sqlite_url(self.url)
            self._engine, self._shared = shared_engine(self.url)
            upgrade(self._engine, self.url, _safe_url(self.url))
        except SchemaTooNew:
            raise
        except opening_errors() as exc:
            shown = _safe_url(url)
            reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
            raise MlenvError(f"opening workspace {shown}: {reason}{driver_hint(exc)}") from None

    def __repr__(self) -> str:
        return f"Workspace({_safe_url(self.url)!r})"

    # -- compute targets and counts ---------------------------------------

    def count_versions(self) -> int:
        """How many versions are registered (all names)."""
        with self._tx() as s:
            return int(s.scalar(select(func.count()).select_from(VersionRow)) or 0)

    # -- compute targets ---------------------------------------------------

    def upsert_compute_target(self, name: str, kind: str, url: str | None) -> ComputeTargetRecord:
        """Create or replace the compute target ``name``."""
        with self._tx() as s:
            row = s.get(ComputeTargetRow, name)
            if row is None:
                row = ComputeTargetRow(name=name, kind=kind, url=url, updated_at=now())
                s.add(row)
            else:
                row.kind, row.url, row.updated_at = kind, url, now()
            s.flush()
            return _target(row)

    def get_compute_target(self, name: str) -> ComputeTargetRecord | None:
        """The compute target ``name``, or ``None``."""
        with self._tx() as s:
            row = s.get(ComputeTargetRow, name)
            return _target(row) if row else None

    def delete_compute_target(self, name: str) -> bool:
        """Remove the compute target; ``False`` when there was none."""
        with self._tx() as s:
            return _delete_rows(s, ComputeTargetRow, ComputeTargetRow.name == name)

    def list_compute_targets(self) -> list[ComputeTargetRecord]:
        """All compute targets, by name."""
        with self._tx() as s:
            return [_target(r) for r in s.scalars(select(ComputeTargetRow).order_by("name"))]


# A PostgreSQL restart under a command: a step waits for the server and runs once more.
for _part in (Workspace, VersionStore, ImageStore, LeaseStore):
    reconnect_methods(_part, skip=frozenset({"close", "build_lease"}))
