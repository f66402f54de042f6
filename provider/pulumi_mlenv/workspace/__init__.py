"""The workspace: environment versions, images, compute targets and runs, in any SQL database.

A SQLite file by default (a plain path), any SQLAlchemy URL otherwise.
"""

from pulumi_mlenv.workspace.records import (
    ComputeTargetRecord,
    ImageRecord,
    VersionConflict,
    VersionRecord,
)
from pulumi_mlenv.workspace.runs import RunRecord, RunStatus, RunStore
from pulumi_mlenv.workspace.store import KEEP, Workspace

__all__ = [
    "KEEP",
    "ComputeTargetRecord",
    "ImageRecord",
    "RunRecord",
    "RunStatus",
    "RunStore",
    "VersionConflict",
    "VersionRecord",
    "Workspace",
]
