"""Run records (a run is environment, target and script; registered on first use): what ran, with
what, where, and how it ended.

A run points at an environment version *and* at what that version was when
the run started: its hash, the image by digest and the lock. A rerun reads
those, never the environment's latest version. A run keeps the *names* of
the variables set; their values are the version's (a secret one kept there
as a reference only).

Status moves ``queued`` -> ``running`` -> ``completed`` | ``failed`` |
``cancelled`` (``queued`` -> ``failed`` when the target fails before the
script starts), or ``lost`` when the process that ran it died without
recording its end: every read of the runs sweeps them (``run_owner``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.workspace._base import StoreBase
from pulumi_mlenv.workspace.records import now
from pulumi_mlenv.workspace.run_owner import gone_reason, this_owner

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pulumi_mlenv.workspace._run_tables import RunRow

__all__ = ["FINAL", "RunRecord", "RunStatus", "RunStore", "RunTransitions", "lost_reason"]


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"


#: States a run never leaves.
FINAL = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.LOST})


def run_by_id_or_prefix(
    key: str, exact: RunRecord | None, starting_with: Callable[[str], list[RunRecord]]
) -> RunRecord:
    """The run ``key`` names: the exact match, else the one run whose id starts
    with ``key`` (four characters at least; ``starting_with`` returns at most
    two). Raises ``MlenvError`` when none or several match. Both stores
    (SQLAlchemy and the standard library's fast read) answer through this."""
    if exact is not None:
        return exact
    if len(key) >= 4:
        found = starting_with(key)
        if len(found) == 1:
            return found[0]
        if found:
            raise MlenvError(f"run id {key!r} is ambiguous: give more characters")
    raise MlenvError(f"no run {key!r} in the workspace (mlenv run list shows them)")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """One run.

    ``image`` is the image by digest (``None`` for a run on the host, whose
    virtualenv is keyed by ``env_hash``). ``lock`` is the installed set the
    run used. ``compute`` is the target's name (``local``, ``docker`` or a
    registered name) with its ``compute_kind`` and ``compute_url``.
    ``source_hash`` is the sha256 of the source folder's content and
    ``source_path`` its snapshot. ``script`` is relative to the source.
    ``variables`` holds names only. ``exit_code`` is ``None`` until the
    script ends (and for a run that never started it). ``error`` says why a
    run failed without (or beside) an exit code. ``rerun_of`` is the id of
    the run this one repeats. ``details``: what the target recorded beside
    the lock (on Ray: the job id, the cluster's Ray version, how the
    environment travelled and the packages added beside it).
    """

    id: str
    env_name: str
    env_version: str
    env_hash: str
    image: str | None
    lock: tuple[str, ...]
    compute: str
    compute_kind: str
    compute_url: str | None
    source_hash: str
    source_path: str
    script: str
    arguments: tuple[str, ...]
    variables: tuple[str, ...]
    logs_path: str
    outputs_path: str
    status: RunStatus = RunStatus.QUEUED
    exit_code: int | None = None
    error: str | None = None
    created_at: str = ""
    started_at: str | None = None
    ended_at: str | None = None
    rerun_of: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    owner: str | None = None
    heartbeat_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (lists for tuples, the status as text)."""
        data = asdict(self)
        data["status"] = self.status.value
        for key in ("lock", "arguments", "variables"):
            data[key] = list(data[key])
        return data


def lost_reason(run: RunRecord, moment: datetime) -> str | None:
    """Why the unfinished ``run`` is lost at ``moment``, or None while its
    process may still run (its last sign of life: the heartbeat, else the
    start, else the creation). Both stores sweep through this."""
    last = run.heartbeat_at or run.started_at or run.created_at
    return gone_reason(run.owner, last, moment)


def _record(row: RunRow) -> RunRecord:
    return RunRecord(
        id=row.id,
        env_name=row.env_name,
        env_version=row.env_version,
        env_hash=row.env_hash,
        image=row.image,
        lock=tuple(row.lock),
        compute=row.compute,
        compute_kind=row.compute_kind,
        compute_url=row.compute_url,
        source_hash=row.source_hash,
        source_path=row.source_path,
        script=row.script,
        arguments=tuple(row.arguments),
        variables=tuple(row.variables),
        logs_path=row.logs_path,
        outputs_path=row.outputs_path,
        status=RunStatus(row.status),
        exit_code=row.exit_code,
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        rerun_of=row.rerun_of,
        details=dict(row.details or {}),
        owner=row.owner,
        heartbeat_at=row.heartbeat_at,
    )


class RunTransitions:
    """A run's moves between states and its reads, the same for every run
    store: each store says how a new row is written (``_insert``), how one
    is updated (``_update``), how lost runs are recorded (``sweep``) and how
    runs are found (``_find``, ``_latest``)."""

    def _insert(self, record: RunRecord) -> None:
        raise NotImplementedError

    def _update(self, run_id: str, **fields: Any) -> RunRecord:
        raise NotImplementedError

    def sweep(self) -> list[RunRecord]:
        """Record ``lost`` every unfinished run whose process is gone; returns them."""
        raise NotImplementedError

    def _find(self, key: str) -> RunRecord:
        """The run ``key`` names, by id or prefix (``run_by_id_or_prefix``)."""
        raise NotImplementedError

    def _latest(self, limit: int) -> list[RunRecord]:
        raise NotImplementedError

    def add(self, record: RunRecord) -> RunRecord:
        """Store a new run (``created_at`` set now when empty), owned by this
        process, and return it."""
        stamp = record.created_at or now()
        record = replace(record, created_at=stamp, owner=this_owner(), heartbeat_at=stamp)
        self._insert(record)
        return record

    def mark_running(self, run_id: str) -> RunRecord:
        """The script is starting now."""
        return self._update(run_id, status=RunStatus.RUNNING.value, started_at=now())

    def finish(
        self, run_id: str, status: RunStatus, exit_code: int | None, error: str | None = None
    ) -> RunRecord:
        """The run ended with ``status`` (one of ``FINAL``)."""
        if status not in FINAL:
            raise ValueError(f"{status} is not a final status")
        return self._update(
            run_id, status=status.value, exit_code=exit_code, error=error, ended_at=now()
        )

    def get(self, run_id: str) -> RunRecord:
        """The run with this id, or the one run whose id starts with it.
        Raises ``MlenvError`` when none or several match."""
        key = run_id.strip()
        self.sweep()  # every read sweeps first: a run whose process died reads as lost
        return self._find(key)

    # Last in the class: below it, ``list`` in an annotation would name this method.
    def list(self, limit: int = 50) -> list[RunRecord]:
        """The latest runs, newest first."""
        self.sweep()
        return self._latest(limit)


class RunStore(RunTransitions, StoreBase):
    """Run records in the workspace at ``url`` (any URL ``Workspace`` takes).

    Every method is one short transaction; open one store per operation in
    a Pulumi provider (it holds an engine).
    """

    def __init__(self, url: str) -> None:
        from pulumi_mlenv.workspace.schema import open_migrated

        self.url, self._engine = open_migrated(url, "the workspace's runs")

    def _session(self) -> Session:
        from sqlalchemy.orm import Session

        return Session(self._engine, expire_on_commit=False)

    def _insert(self, record: RunRecord) -> None:
        from pulumi_mlenv.workspace._run_tables import RunRow

        with self._session() as s, s.begin():
            s.add(RunRow(**record.to_dict()))

    def _update(self, run_id: str, **fields: Any) -> RunRecord:
        from pulumi_mlenv.workspace._run_tables import RunRow

        with self._session() as s, s.begin():
            row = s.get(RunRow, run_id)
            if row is None:
                raise MlenvError(f"no run {run_id} in the workspace")
            for key, value in fields.items():
                setattr(row, key, value)
            s.flush()
            return _record(row)

    def beat(self, run_id: str) -> None:
        """The run's process is alive (its heartbeat)."""
        from pulumi_mlenv.workspace._run_tables import RunRow

        with self._session() as s, s.begin():
            row = s.get(RunRow, run_id)
            if row is not None and row.status not in FINAL:
                row.heartbeat_at = now()

    def sweep(self) -> list[RunRecord]:
        """Record ``lost`` every unfinished run whose process is gone; returns them."""
        from sqlalchemy import select

        from pulumi_mlenv.workspace._run_tables import RunRow

        lost: list[RunRecord] = []
        moment = datetime.now(UTC)
        with self._session() as s, s.begin():
            open_states = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)
            for row in s.scalars(select(RunRow).where(RunRow.status.in_(open_states))):
                reason = lost_reason(_record(row), moment)
                if reason is not None:
                    row.status = RunStatus.LOST.value
                    row.error = f"lost: {reason}"
                    row.ended_at = now()
                    lost.append(_record(row))
        return lost

    def _find(self, key: str) -> RunRecord:
        from sqlalchemy import select

        from pulumi_mlenv.workspace._run_tables import RunRow

        with self._session() as s:
            row = s.get(RunRow, key)
            return run_by_id_or_prefix(
                key,
                None if row is None else _record(row),
                lambda prefix: [
                    _record(r)
                    for r in s.scalars(select(RunRow).where(RunRow.id.startswith(prefix)).limit(2))
                ],
            )

    def _latest(self, limit: int) -> list[RunRecord]:
        from sqlalchemy import select

        from pulumi_mlenv.workspace._run_tables import RunRow

        with self._session() as s:
            rows = s.scalars(
                select(RunRow).order_by(RunRow.created_at.desc(), RunRow.id).limit(limit)
            )
            return [_record(r) for r in rows]
