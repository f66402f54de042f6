"""The ORM table of runs, on the workspace's ``Base`` (so that opening a
workspace creates it, and migrations see it beside the other tables).

Table ``mlenv_runs``: one row per run, its id the primary key. Lists (lock
lines, arguments, variable names) are JSON; times ISO 8601 strings in UTC.
"""

from __future__ import annotations

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pulumi_mlenv.workspace._tables import Base

__all__ = ["RunRow"]


class RunRow(Base):
    __tablename__ = "mlenv_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    env_name: Mapped[str] = mapped_column(String(255), index=True)
    env_version: Mapped[str] = mapped_column(String(128))
    env_hash: Mapped[str] = mapped_column(String(128), index=True)
    image: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    lock: Mapped[list[str]] = mapped_column(JSON)
    compute: Mapped[str] = mapped_column(String(255))
    compute_kind: Mapped[str] = mapped_column(String(64))
    compute_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    source_hash: Mapped[str] = mapped_column(String(128))
    source_path: Mapped[str] = mapped_column(String(2048))
    script: Mapped[str] = mapped_column(String(1024))
    arguments: Mapped[list[str]] = mapped_column(JSON)
    variables: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    ended_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    logs_path: Mapped[str] = mapped_column(String(2048))
    outputs_path: Mapped[str] = mapped_column(String(2048))
    rerun_of: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: What the target recorded beside the lock (a Ray job id, what it added).
    details: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    # Who runs it ("host pid start-ticks") and when it last said so (0006).
    owner: Mapped[str | None] = mapped_column(String(512), nullable=True)
    heartbeat_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
