"""The workspace: environment versions (history, holders), images, compute
targets, runs and build leases, in any SQL database.

A SQLite file by default (a plain path), PostgreSQL for a team
(``postgresql+psycopg://...``), any SQLAlchemy URL otherwise. The schema is
kept by the Alembic migrations in ``workspace/migrations``.
"""

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
