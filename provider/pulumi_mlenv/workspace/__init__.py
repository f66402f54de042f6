"""The workspace: environment versions, images and compute targets, in any SQL database.

A SQLite file by default (a plain path), any SQLAlchemy URL otherwise.
"""

from pulumi_mlenv.workspace.records import (
    ComputeTargetRecord,
    ImageRecord,
    VerificationRecord,
    VersionConflict,
    VersionRecord,
)
from pulumi_mlenv.workspace.store import KEEP, Workspace

__all__ = [
    "KEEP",
    "ComputeTargetRecord",
    "ImageRecord",
    "VerificationRecord",
    "VersionConflict",
    "VersionRecord",
    "Workspace",
]
