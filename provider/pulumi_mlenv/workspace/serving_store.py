"""Models, deployments and endpoints in the workspace: the records (frozen,
plain values) and ``ServingStore``, which reads and writes them.

A model version is immutable: the same content under the same name keeps its
version; new content gets the next number. Its ``Lineage`` says where it came
from (the run, and the exact environment: name, version, hash, image by
digest, lock), so anyone can go back to the environment it was trained in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.workspace._base import StoreBase
from pulumi_mlenv.workspace._rows import _delete_rows, _lock_key
from pulumi_mlenv.workspace._serving_tables import (
    DeploymentRow,
    EndpointRow,
    ModelRow,
)
from pulumi_mlenv.workspace.reconnect import reconnect_methods
from pulumi_mlenv.workspace.records import now

__all__ = [
    "DeploymentRecord",
    "EndpointRecord",
    "Lineage",
    "ModelRecord",
    "ServingStore",
]

_RETRIES = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Lineage:
    """Where a model came from. Every field is optional (a model registered
    from a bare path knows none of them).

    A run record gives all of them: ``run_id``; the environment's ``env_name``
    and ``env_version`` as registered in the workspace; ``env_hash`` (the
    definition hash); ``env_image`` (the image *by digest* the run used); and
    ``env_lock`` (the ``name==version`` lines installed in it).
    """

    run_id: str | None = None
    env_name: str | None = None
    env_version: str | None = None
    env_hash: str | None = None
    env_image: str | None = None
    env_lock: tuple[str, ...] = ()

    @property
    def env_digest(self) -> str | None:
        """The ``sha256:...`` part of ``env_image``."""
        if not self.env_image or "@" not in self.env_image:
            return None
        return self.env_image.rsplit("@", 1)[1]

    @property
    def known(self) -> bool:
        return any((self.run_id, self.env_name, self.env_image))


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRecord:
    """One registered model version. ``uri`` is the folder holding the
    registered copy (its files keep their names: a single-file model is one
    file in it); ``files`` their paths relative to it."""

    name: str
    version: str
    content_hash: str
    uri: str
    source_path: str
    size: int
    files: tuple[str, ...]
    description: str | None = None
    lineage: Lineage = field(default_factory=Lineage)
    created_at: str = ""

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentRecord:
    """One deployment container. ``status``: ``starting``, ``healthy``,
    ``unhealthy``. ``details`` holds what is shown but not queried (image
    digest, entry script, timings)."""

    instance: str
    name: str
    model_name: str
    model_version: str
    env_name: str | None
    env_version: str | None
    image: str
    compute_url: str
    port: int
    container_id: str | None
    code_hash: str
    status: str
    details: dict[str, Any] = field(default_factory=dict)
    updated_at: str = ""

    @property
    def scoring_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/score"


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointRecord:
    """An endpoint: its proxy's port and folder, and ``backends`` as
    ``(name, address host:port, weight)``."""

    name: str
    port: int
    backends: tuple[tuple[str, str, int], ...]
    home: str
    updated_at: str = ""

    @property
    def scoring_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/score"


def _model(row: ModelRow) -> ModelRecord:
    return ModelRecord(
        name=row.name,
        version=row.version,
        content_hash=row.content_hash,
        uri=row.uri,
        source_path=row.source_path,
        size=row.size,
        files=tuple(row.files),
        description=row.description,
        lineage=Lineage(
            run_id=row.run_id,
            env_name=row.env_name,
            env_version=row.env_version,
            env_hash=row.env_hash,
            env_image=row.env_image,
            env_lock=tuple(row.env_lock or ()),
        ),
        created_at=row.created_at,
    )


def _deployment(row: DeploymentRow) -> DeploymentRecord:
    return DeploymentRecord(
        instance=row.instance,
        name=row.name,
        model_name=row.model_name,
        model_version=row.model_version,
        env_name=row.env_name,
        env_version=row.env_version,
        image=row.image,
        compute_url=row.compute_url,
        port=row.port,
        container_id=row.container_id,
        code_hash=row.code_hash,
        status=row.status,
        details=dict(row.details or {}),
        updated_at=row.updated_at,
    )


def _endpoint(row: EndpointRow) -> EndpointRecord:
    return EndpointRecord(
        name=row.name,
        port=row.port,
        backends=tuple((b["name"], b["address"], int(b["weight"])) for b in row.backends),
        home=row.home,
        updated_at=row.updated_at,
    )


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (-1, version)


class ServingStore(StoreBase):
    """Models, deployments and endpoints in the workspace at ``url`` (a plain
    path or any SQLAlchemy URL, as for ``Workspace``). Opening brings the
    schema up to date, through the same migrations as ``Workspace``. One
    short transaction per method."""

    def __init__(self, url: str) -> None:
        from pulumi_mlenv.workspace.schema import open_migrated

        self.url, self._engine = open_migrated(url, "the workspace's model tables")

    # Models ---------------------------------------------------------------

    def register_model(
        self,
        name: str,
        *,
        content_hash: str,
        uri: str,
        source_path: str,
        size: int,
        files: tuple[str, ...],
        description: str | None = None,
        lineage: Lineage | None = None,
    ) -> tuple[ModelRecord, bool]:
        """Register ``name`` with this content; returns ``(record, new)``.
        The same content under the same name returns the version it has
        (``new`` False, nothing written); new content gets the next number."""
        lineage = lineage or Lineage()
        for _ in range(_RETRIES):
            try:
                with self._tx() as s:
                    if s.get_bind().dialect.name == "postgresql":
                        # One registration of a name at a time, as for environments:
                        # under READ COMMITTED two would otherwise read the same
                        # highest number (the retry then ran out under load).
                        s.execute(
                            text("SELECT pg_advisory_xact_lock(:k)"),
                            {"k": _lock_key(f"register-model:{name}")},
                        )
                    same = s.scalars(
                        select(ModelRow)
                        .where(ModelRow.name == name, ModelRow.content_hash == content_hash)
                        .order_by(ModelRow.id)
                    ).first()
                    if same is not None:
                        return _model(same), False
                    versions = s.scalars(select(ModelRow.version).where(ModelRow.name == name))
                    numbers = [int(v) for v in versions if v.isdigit()]
                    row = ModelRow(
                        name=name,
                        version=str(max(numbers, default=0) + 1),
                        content_hash=content_hash,
                        uri=uri,
                        source_path=source_path,
                        size=size,
                        files=list(files),
                        description=description,
                        run_id=lineage.run_id,
                        env_name=lineage.env_name,
                        env_version=lineage.env_version,
                        env_hash=lineage.env_hash,
                        env_image=lineage.env_image,
                        env_lock=list(lineage.env_lock),
                        created_at=now(),
                    )
                    s.add(row)
                    s.flush()
                    return _model(row), True
            except IntegrityError:  # another process took that number: look again
                continue
        raise MlenvError(f"registering model {name}: version numbering kept conflicting")

    def get_model(self, name: str, version: str | None = None) -> ModelRecord | None:
        """``name:version``, or the latest version of ``name`` when ``version`` is None."""
        models = self.list_models(name)
        if version is None:
            return models[-1] if models else None
        return next((m for m in models if m.version == version), None)

    def list_models(self, name: str | None = None) -> list[ModelRecord]:
        """Every model version (of ``name``), by name then version number."""
        with self._tx() as s:
            query = select(ModelRow)
            if name is not None:
                query = query.where(ModelRow.name == name)
            rows = [_model(r) for r in s.scalars(query)]
        return sorted(rows, key=lambda m: (m.name, _version_key(m.version)))

    # Deployments ----------------------------------------------------------

    def put_deployment(self, record: DeploymentRecord) -> DeploymentRecord:
        """Insert or replace the record of ``record.instance``."""
        with self._tx() as s:
            row = s.get(DeploymentRow, record.instance) or DeploymentRow(instance=record.instance)
            row.name = record.name
            row.model_name = record.model_name
            row.model_version = record.model_version
            row.env_name = record.env_name
            row.env_version = record.env_version
            row.image = record.image
            row.compute_url = record.compute_url
            row.port = record.port
            row.container_id = record.container_id
            row.code_hash = record.code_hash
            row.status = record.status
            row.details = dict(record.details)
            row.updated_at = now()
            s.add(row)
            s.flush()
            return _deployment(row)

    def get_deployment(self, instance: str) -> DeploymentRecord | None:
        with self._tx() as s:
            row = s.get(DeploymentRow, instance)
            return _deployment(row) if row is not None else None

    def set_deployment_status(self, instance: str, status: str) -> None:
        with self._tx() as s:
            row = s.get(DeploymentRow, instance)
            if row is not None:
                row.status = status
                row.updated_at = now()

    def list_deployments(self, name: str | None = None) -> list[DeploymentRecord]:
        with self._tx() as s:
            query = select(DeploymentRow).order_by(DeploymentRow.name, DeploymentRow.updated_at)
            if name is not None:
                query = query.where(DeploymentRow.name == name)
            return [_deployment(r) for r in s.scalars(query)]

    def delete_deployment(self, instance: str) -> bool:
        with self._tx() as s:
            return _delete_rows(s, DeploymentRow, DeploymentRow.instance == instance)

    def used_ports(self) -> set[int]:
        """Ports held by recorded deployments and endpoints."""
        with self._tx() as s:
            ports = set(s.scalars(select(DeploymentRow.port)))
            ports |= set(s.scalars(select(EndpointRow.port)))
        return ports

    # Endpoints ------------------------------------------------------------

    def put_endpoint(self, record: EndpointRecord) -> EndpointRecord:
        with self._tx() as s:
            row = s.get(EndpointRow, record.name) or EndpointRow(name=record.name)
            row.port = record.port
            row.backends = [{"name": n, "address": a, "weight": w} for n, a, w in record.backends]
            row.home = record.home
            row.updated_at = now()
            s.add(row)
            s.flush()
            return _endpoint(row)

    def get_endpoint(self, name: str) -> EndpointRecord | None:
        with self._tx() as s:
            row = s.get(EndpointRow, name)
            return _endpoint(row) if row is not None else None

    def list_endpoints(self) -> list[EndpointRecord]:
        with self._tx() as s:
            return [_endpoint(r) for r in s.scalars(select(EndpointRow).order_by(EndpointRow.name))]

    def delete_endpoint(self, name: str) -> bool:
        with self._tx() as s:
            return _delete_rows(s, EndpointRow, EndpointRow.name == name)


# A PostgreSQL restart under a command: a step waits for the server and runs once more.
reconnect_methods(ServingStore, skip=frozenset({"close"}))
