"""Environment versions: numbers, definitions, holders and archiving."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.workspace._base import StoreBase
from pulumi_mlenv.workspace._rows import (
    _RETRIES,
    KEEP,
    Pairs,
    _digest,
    _json_ready,
    _Keep,
    _lock_key,
    _pairs,
    _version,
    _versions,
)
from pulumi_mlenv.workspace._tables import (
    HoldRow,
    VersionRow,
)
from pulumi_mlenv.workspace.records import (
    Holder,
    VersionConflict,
    VersionRecord,
    canonical_json,
    now,
)

__all__ = ["VersionStore"]


class VersionStore(StoreBase):
    """The versions part of the workspace: history, never deleted."""

    # -- environment versions ----------------------------------------------

    def register_version(
        self,
        name: str,
        env_hash: str,
        *,
        version: str | None,
        image: str,
        definition: Mapping[str, Any],
        description: str | None = None,
        tags: Pairs = (),
        environment_variables: Pairs = (),
        holder: Holder | None = None,
    ) -> VersionRecord:
        """Register ``name`` at ``version`` for ``env_hash``, held by ``holder``
        (when given), and return the record.

        ``version=None`` numbers it: the next integer after the name's highest
        integer version, archived ones included (``"1"`` first; numbers are
        never reused), unless the name's latest version has this hash and
        definition already, which is returned (idempotent: a retried
        ``pulumi up`` registers nothing new). An explicit version that exists
        is returned when its hash matches and raises ``VersionConflict``
        otherwise, archived or not. A returned version is active again, and
        points at ``image`` (a forced rebuild moves the hash's image; the
        number, hash and definition stay). Safe when several processes
        register the same name at once: each gets a distinct number or the
        idempotent answer.
        """
        fields = {
            "image": image,
            "definition": _json_ready(definition),
            "description": description,
            "tags": _pairs(tags),
            "environment_variables": _pairs(environment_variables),
        }
        for attempt in range(_RETRIES):
            try:
                with self._tx() as s:
                    row = self._register(s, name, env_hash, version, fields)
                    if holder is not None:
                        self._hold(s, row, holder)
                    return _versions(s, [row])[0]
            except IntegrityError:
                # Another process took this (name, version) between our read and write.
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _register(
        self,
        s: Session,
        name: str,
        env_hash: str,
        version: str | None,
        fields: dict[str, Any],
    ) -> VersionRow:
        bind = s.get_bind()
        if bind.dialect.name == "postgresql":
            # One registration of a name at a time: under READ COMMITTED a
            # version committed by another process between the two reads
            # below would otherwise make this one take the next number.
            s.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(f"register:{name}")}
            )
        if version is None:
            latest = s.scalars(
                select(VersionRow)
                .where(VersionRow.name == name)
                .order_by(VersionRow.id.desc())
                .limit(1)
                .with_for_update()
            ).first()
            if (
                latest is not None
                and latest.env_hash == env_hash
                and canonical_json(latest.definition) == canonical_json(fields["definition"])
            ):
                return self._revive(latest, fields["image"])
            labels = s.scalars(select(VersionRow.version).where(VersionRow.name == name))
            version = str(max((int(v) for v in labels if v.isdigit()), default=0) + 1)
        else:
            existing = s.scalars(
                select(VersionRow)
                .where(VersionRow.name == name, VersionRow.version == version)
                .with_for_update()
            ).first()
            if existing is not None:
                if existing.env_hash != env_hash:
                    raise VersionConflict(name, version, existing.env_hash, env_hash)
                return self._revive(existing, fields["image"])
        row = VersionRow(name=name, version=version, env_hash=env_hash, created_at=now(), **fields)
        s.add(row)
        s.flush()
        return row

    @staticmethod
    def _revive(row: VersionRow, image: str) -> VersionRow:
        """An existing version registered again: active, at the hash's current image."""
        row.archived_at = None
        row.image = image or row.image  # a host run's registration knows no image
        return row

    @staticmethod
    def _locked(s: Session, name: str, version: str) -> VersionRow | None:
        """The version's row, locked for this transaction (FOR UPDATE on
        PostgreSQL); None when not registered."""
        return s.scalars(
            select(VersionRow)
            .where(VersionRow.name == name, VersionRow.version == version)
            .with_for_update()
        ).first()

    @classmethod
    def _row(cls, s: Session, name: str, version: str) -> VersionRow:
        row = cls._locked(s, name, version)
        if row is None:
            raise MlenvError(f"environment '{name}' version {version} is not registered")
        return row

    @staticmethod
    def _hold(s: Session, row: VersionRow, holder: Holder) -> None:
        hold = s.scalars(
            select(HoldRow).where(
                HoldRow.kind == holder.kind,
                HoldRow.holder == holder.id,
                HoldRow.name == row.name,
                HoldRow.version == row.version,
            )
        ).first()
        if hold is None:
            s.add(
                HoldRow(
                    kind=holder.kind,
                    holder=holder.id,
                    name=row.name,
                    version=row.version,
                    digest=_digest(row.image),
                    created_at=now(),
                )
            )
        else:
            hold.digest = _digest(row.image)
        row.archived_at = None
        s.flush()

    def hold(self, name: str, version: str, holder: Holder) -> VersionRecord:
        """Record that ``holder`` (a run, a deployment, a stack) uses ``name:version``;
        the version is active again if it was archived, and its image digest
        is protected from retention. Raises ``MlenvError`` when not registered."""
        for attempt in range(_RETRIES):
            try:
                with self._tx() as s:
                    row = self._row(s, name, version)
                    self._hold(s, row, holder)
                    return _versions(s, [row])[0]
            except IntegrityError:  # the same holder holding it at the same time
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def release(self, name: str, version: str, holder: Holder | None) -> VersionRecord | None:
        """``holder`` lets go of ``name:version`` (only its own hold); the version is
        archived when nothing holds it any more. ``holder=None`` (state written
        before holders were recorded) only archives an unheld version.
        Returns the version as it is now, ``None`` when not registered."""
        with self._tx() as s:
            # FOR UPDATE (PostgreSQL): a hold taken at the same time waits, so the
            # count below cannot miss it and archive a held version.
            row = self._locked(s, name, version)
            if row is None:
                return None
            if holder is not None:
                s.execute(
                    delete(HoldRow).where(
                        HoldRow.kind == holder.kind,
                        HoldRow.holder == holder.id,
                        HoldRow.name == name,
                        HoldRow.version == version,
                    )
                )
            left = s.scalar(
                select(func.count())
                .select_from(HoldRow)
                .where(HoldRow.name == name, HoldRow.version == version)
            )
            if not left and row.archived_at is None:
                row.archived_at = now()
            s.flush()
            return _versions(s, [row])[0]

    def holds_of(self, holder: Holder) -> list[tuple[str, str]]:
        """``(name, version)`` of everything ``holder`` holds."""
        with self._tx() as s:
            return [
                (n, v)
                for n, v in s.execute(
                    select(HoldRow.name, HoldRow.version)
                    .where(HoldRow.kind == holder.kind, HoldRow.holder == holder.id)
                    .order_by(HoldRow.name, HoldRow.version)
                )
            ]

    def get_version(self, name: str, version: str | None = None) -> VersionRecord | None:
        """``name`` at ``version`` (archived or not), or when ``None`` its latest
        active version (its latest archived one when none is active)."""
        with self._tx() as s:
            query = select(VersionRow).where(VersionRow.name == name)
            if version is not None:
                query = query.where(VersionRow.version == version)
            else:
                # Active first (archived_at NULL sorts as the smallest on both
                # databases only when asked): order by "is archived", then newest.
                query = query.order_by(VersionRow.archived_at.is_not(None))
            row = s.scalars(query.order_by(VersionRow.id.desc()).limit(1)).first()
            return _versions(s, [row])[0] if row else None

    def versions_for_hash(
        self, env_hash: str, *, include_archived: bool = False
    ) -> list[VersionRecord]:
        """The active versions registered with this hash (they share one image),
        by name then registration order; archived ones too when asked."""
        return self._listed(
            select(VersionRow).where(VersionRow.env_hash == env_hash), include_archived
        )

    def list_versions(
        self, name: str | None = None, *, include_archived: bool = False
    ) -> list[VersionRecord]:
        """Active versions (of ``name`` when given), by name then registration
        order, with their holders; archived ones too when asked."""
        query = select(VersionRow)
        if name is not None:
            query = query.where(VersionRow.name == name)
        return self._listed(query, include_archived)

    def _listed(self, query: Select[VersionRow], include_archived: bool) -> list[VersionRecord]:
        """The versions ``query`` selects (active ones only unless
        ``include_archived``), by name then registration order, with holders."""
        if not include_archived:
            query = query.where(VersionRow.archived_at.is_(None))
        with self._tx() as s:
            rows = list(s.scalars(query.order_by(VersionRow.name, VersionRow.id)))
            return _versions(s, rows)

    def update_version_metadata(
        self,
        name: str,
        version: str,
        *,
        description: str | _Keep | None = KEEP,
        tags: Pairs | _Keep = KEEP,
        environment_variables: Pairs | _Keep = KEEP,
        definition: Mapping[str, Any] | _Keep = KEEP,
    ) -> VersionRecord:
        """Change what does not shape the image (reuse by hash) and return the new record.

        Fields left at ``KEEP`` are unchanged; ``description=None`` clears it.
        ``definition`` replaces the stored definition (give it when the
        metadata is part of it, so later idempotent registrations compare
        against what is current). Raises ``MlenvError`` when the version is
        not registered.
        """
        with self._tx() as s:
            row = s.scalars(
                select(VersionRow).where(VersionRow.name == name, VersionRow.version == version)
            ).first()
            if row is None:
                raise MlenvError(f"environment '{name}' version {version} is not registered")
            if not isinstance(description, _Keep):
                row.description = description
            if not isinstance(tags, _Keep):
                row.tags = _pairs(tags)
            if not isinstance(environment_variables, _Keep):
                row.environment_variables = _pairs(environment_variables)
            if not isinstance(definition, _Keep):
                row.definition = _json_ready(definition)
            s.flush()
            return _version(row)
