"""ORM tables of models, deployments and endpoints (SQLAlchemy 2), on the
same ``Base`` (and so the same metadata) as ``_tables``: one schema, one
migration history. Kept in a module of their own so that migrations can list
them by name: ``mlenv_models``, ``mlenv_deployments``, ``mlenv_endpoints``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pulumi_mlenv.workspace._tables import Base

__all__ = ["SERVING_TABLES", "DeploymentRow", "EndpointRow", "ModelRow"]


class ModelRow(Base):
    """One registered model version: its content hash and where it came from."""

    __tablename__ = "mlenv_models"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_mlenv_models_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[str] = mapped_column(String(128))
    content_hash: Mapped[str] = mapped_column(String(128), index=True)
    #: Where the registered copy lives (a folder named after the content hash).
    uri: Mapped[str] = mapped_column(String(2048))
    source_path: Mapped[str] = mapped_column(String(2048))
    size: Mapped[int] = mapped_column(BigInteger)
    files: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Lineage: the run and the exact environment the model was trained in.
    run_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    env_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    env_version: Mapped[str | None] = mapped_column(String(128), nullable=True)
    env_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    env_image: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    env_lock: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[str] = mapped_column(String(40))


class DeploymentRow(Base):
    """One running (or starting) deployment container. ``instance`` is unique
    per container: a replacement runs beside the deployment it replaces."""

    __tablename__ = "mlenv_deployments"

    instance: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    model_name: Mapped[str] = mapped_column(String(255))
    model_version: Mapped[str] = mapped_column(String(128))
    env_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    env_version: Mapped[str | None] = mapped_column(String(128), nullable=True)
    image: Mapped[str] = mapped_column(String(1024))
    compute_url: Mapped[str] = mapped_column(String(1024))
    port: Mapped[int] = mapped_column(Integer, index=True)
    container_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    code_hash: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[str] = mapped_column(String(40))


class EndpointRow(Base):
    """A stable address (a proxy on ``port``) with traffic weights over deployments."""

    __tablename__ = "mlenv_endpoints"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    port: Mapped[int] = mapped_column(Integer, index=True)
    #: ``[{"name", "address", "weight"}]`` in the given order.
    backends: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: The proxy's own folder (configuration, pid file, log).
    home: Mapped[str] = mapped_column(String(2048))
    updated_at: Mapped[str] = mapped_column(String(40))


#: The tables of this module, for ``create_all(tables=...)`` and migrations.
SERVING_TABLES = tuple(
    Base.metadata.tables[row.__tablename__] for row in (ModelRow, DeploymentRow, EndpointRow)
)
