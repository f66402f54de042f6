"""The workspace: environment versions (history, holders), images, compute
targets, runs and build leases, in any SQL database.

A SQLite file by default (a plain path), PostgreSQL for a team
(``postgresql+psycopg://...``), any SQLAlchemy URL otherwise. The schema is
kept by the Alembic migrations in ``workspace/migrations``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pulumi_mlenv.lazy import lazy_names

if TYPE_CHECKING:
    from pulumi_mlenv.workspace.records import (
        ComputeTargetRecord,
        Holder,
        ImageRecord,
        VerificationRecord,
        VersionConflict,
        VersionRecord,
    )
    from pulumi_mlenv.workspace.runs import RunRecord, RunStatus, RunStore
    from pulumi_mlenv.workspace.schema import SchemaTooNew
    from pulumi_mlenv.workspace.store import KEEP, Workspace

#: Where each public name lives, imported on first use: a read of the runs
#: table with the standard library (``run_reads``) must not pay for
#: SQLAlchemy and Alembic.
_HOME = {
    **dict.fromkeys(
        ("ComputeTargetRecord", "Holder", "ImageRecord", "VerificationRecord",
         "VersionConflict", "VersionRecord"),
        "pulumi_mlenv.workspace.records",
    ),
    **dict.fromkeys(("RunRecord", "RunStatus", "RunStore"), "pulumi_mlenv.workspace.runs"),
    "SchemaTooNew": "pulumi_mlenv.workspace.schema",
    **dict.fromkeys(("KEEP", "Workspace"), "pulumi_mlenv.workspace.store"),
}  # fmt: skip


__getattr__ = lazy_names(__name__, _HOME)


__all__ = [
    "KEEP",
    "ComputeTargetRecord",
    "Holder",
    "ImageRecord",
    "RunRecord",
    "RunStatus",
    "RunStore",
    "SchemaTooNew",
    "VerificationRecord",
    "VersionConflict",
    "VersionRecord",
    "Workspace",
]
