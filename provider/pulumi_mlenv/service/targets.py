"""The compute target use cases: check one answers, record it in the workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import Outside

if TYPE_CHECKING:
    from pulumi_mlenv.workspace import ComputeTargetRecord

__all__ = ["add_target", "check_target", "forget_target", "record_target"]


def check_target(kind: str, url: str | None, *, outside: Outside | None = None) -> None:
    """Raise ``SpecError`` for a bad kind or URL, ``EngineError`` when the
    target does not answer."""
    outside_or_real(outside).compute(kind, url).check()


def record_target(
    name: str, kind: str, url: str | None, workspace_url: str, *, outside: Outside | None = None
) -> ComputeTargetRecord:
    """Record (or update) a named target in the workspace."""
    with outside_or_real(outside).workspace(workspace_url) as workspace:
        return workspace.upsert_compute_target(name, kind, url)


def forget_target(name: str, workspace_url: str, *, outside: Outside | None = None) -> bool:
    """Remove a named target from the workspace; False when it was not there."""
    with outside_or_real(outside).workspace(workspace_url) as workspace:
        return workspace.delete_compute_target(name)


def add_target(
    name: str, kind: str, url: str | None, workspace_url: str, *, outside: Outside | None = None
) -> ComputeTargetRecord:
    """Record a named target after checking its kind and URL (``SpecError``
    naming the field), without contacting it: a run checks it first."""
    io = outside_or_real(outside)
    target = io.compute(kind, url)
    with io.workspace(workspace_url) as workspace:
        return workspace.upsert_compute_target(name, target.kind, target.url)
