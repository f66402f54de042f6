"""Compute targets as runs see them: the built-in ``local`` and ``docker``
(on ``DOCKER_HOST``) and those registered in the workspace (``mlenv compute
add``, the ComputeTarget resource, ``make spark``, ``make ray``), by name."""

from __future__ import annotations

from pulumi_mlenv.compute import ComputeTarget
from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import RUN_HEADING, SpecError
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.workspace import ComputeTargetRecord

__all__ = ["BUILTIN_TARGETS", "compute_targets", "resolve_compute"]

#: Targets every workspace has without registering them.
BUILTIN_TARGETS = ("local", "docker")


def compute_targets(
    settings: Settings, workspace_url: str, *, outside: Outside | None = None
) -> list[ComputeTargetRecord]:
    """The built-in targets (``local``, ``docker`` on ``DOCKER_HOST``) and
    those registered in the workspace, by name."""
    builtin = [
        ComputeTargetRecord(name="local", kind="local", url=None),
        ComputeTargetRecord(name="docker", kind="docker", url=settings.docker_host),
    ]
    io = outside_or_real(outside)
    registered = io.quick_targets(workspace_url)
    if registered is None:
        with io.workspace(workspace_url) as workspace:
            registered = workspace.list_compute_targets()
    names = {t.name for t in registered}
    return sorted([*(t for t in builtin if t.name not in names), *registered], key=lambda t: t.name)


def _target(record: ComputeTargetRecord, settings: Settings, io: Outside) -> ComputeTarget:
    if record.kind in ("local", "docker"):
        return io.compute(record.kind, record.url or None, settings)
    if record.kind == "spark":
        if not record.url:
            raise SpecError.at(
                "compute", f"spark target {record.name!r} has no master URL", heading=RUN_HEADING
            )
        return io.compute(record.kind, record.url, settings)
    if record.kind == "ray":
        return io.compute(record.kind, record.url, settings)
    raise SpecError.at(
        "compute",
        f"compute target {record.name!r} has unknown kind {record.kind!r}",
        heading=RUN_HEADING,
    )


def resolve_compute(
    name: str, settings: Settings, workspace_url: str, *, outside: Outside | None = None
) -> tuple[ComputeTargetRecord, ComputeTarget]:
    """The target called ``name`` (a registered one wins over a built-in of
    the same name). Raises ``SpecError`` listing the known names."""
    io = outside_or_real(outside)
    targets = compute_targets(settings, workspace_url, outside=io)
    for record in targets:
        if record.name == name:
            return record, _target(record, settings, io)
    known = ", ".join(t.name for t in targets)
    raise SpecError.at(
        "compute", f"unknown compute target {name!r}",
        f"use one of: {known} (mlenv compute list; mlenv compute add registers one)",
        heading=RUN_HEADING,
    )  # fmt: skip
