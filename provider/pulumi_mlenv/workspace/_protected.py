"""What a workspace protects from retention, and why: every digest an
active version points at, a hold names, a run ran on, a model's lineage
records or a recorded deployment serves from (runs and models are history:
repeating them needs their image; a deployment is rebuilt on its
environment's image)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pulumi_mlenv.workspace._run_tables import RunRow
from pulumi_mlenv.workspace._serving_tables import DeploymentRow, ModelRow
from pulumi_mlenv.workspace._tables import HoldRow, VersionRow

__all__ = ["protected_digests"]


def _digest(image: str | None) -> str | None:
    return image.rpartition("@")[2] if image and "@" in image else None


def protected_digests(s: Session) -> dict[str, list[str]]:
    """``digest -> holders`` (``version train:1``, ``stack:proj/dev``,
    ``run:3f2a9c1e0b7d``, ``model iris:2``, ``deployment blue``)."""
    out: dict[str, list[str]] = {}

    def add(image: str | None, holder: str) -> None:
        if d := _digest(image):
            out.setdefault(d, []).append(holder)

    for name, version, image in s.execute(
        select(VersionRow.name, VersionRow.version, VersionRow.image).where(
            VersionRow.archived_at.is_(None)
        )
    ):
        add(image, f"version {name}:{version}")
    for kind, holder, digest in s.execute(select(HoldRow.kind, HoldRow.holder, HoldRow.digest)):
        if digest:
            out.setdefault(digest, []).append(f"{kind}:{holder}")
    for run_id, run_image in s.execute(select(RunRow.id, RunRow.image)):
        add(run_image, f"run:{run_id}")
    for model, number, env_image in s.execute(
        select(ModelRow.name, ModelRow.version, ModelRow.env_image)
    ):
        add(env_image, f"model {model}:{number}")
    served = s.execute(
        select(DeploymentRow.name, VersionRow.image)
        .join(
            VersionRow,
            (VersionRow.name == DeploymentRow.env_name)
            & (VersionRow.version == DeploymentRow.env_version),
        )
        .distinct()
    )
    for deployment, env_image in served:
        add(env_image, f"deployment {deployment}")
    return out
