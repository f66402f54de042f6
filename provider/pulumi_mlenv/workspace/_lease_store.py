"""Build leases: one builder per hash across processes and machines."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, delete, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from pulumi_mlenv.workspace._base import StoreBase
from pulumi_mlenv.workspace._rows import _lock_key
from pulumi_mlenv.workspace._tables import (
    LeaseRow,
)
from pulumi_mlenv.workspace.reconnect import reconnecting
from pulumi_mlenv.workspace.records import now

__all__ = ["LeaseStore"]


class LeaseStore(StoreBase):
    """Workspace-wide leases with a heartbeat."""

    # -- build leases ----------------------------------------------------------

    @contextmanager
    def build_lease(self, key: str, ttl: float = 60.0, poll: float = 0.25) -> Iterator[None]:
        """Hold the workspace-wide lease ``key`` (e.g. an environment hash) for
        the ``with`` block; wait while another process, on any machine using
        this workspace, holds it.

        PostgreSQL: a session advisory lock, freed by the server when the
        holder's connection ends (a process that dies frees it at once).
        SQLite: a row with an expiry ``ttl`` seconds ahead, pushed forward by a
        heartbeat thread; a holder that dies stops beating and the lease is
        free once it expires.
        """
        if self._engine.dialect.name == "postgresql":
            lock = _lock_key(f"mlenv-lease:{key}")
            conn = self._advisory_lock(lock)
            try:
                yield
            finally:
                # A server restarted meanwhile ended the session, and its lock.
                with contextlib.suppress(DBAPIError):
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock})
                with contextlib.suppress(DBAPIError):
                    conn.close()
            return
        owner = uuid.uuid4().hex
        while not self._take_lease(key, owner, ttl):
            time.sleep(poll)
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(key, owner, ttl, stop), daemon=True, name="mlenv-lease"
        )
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            with self._tx() as s:
                s.execute(delete(LeaseRow).where(LeaseRow.key == key, LeaseRow.owner == owner))

    @reconnecting
    def _advisory_lock(self, lock: int) -> Connection:
        """A connection of its own holding the session advisory lock ``lock``
        (waiting for it); a server restarting meanwhile is waited for."""
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock})
        except BaseException:
            conn.close()
            raise
        return conn

    def _take_lease(self, key: str, owner: str, ttl: float) -> bool:
        with self._tx() as s:
            row = s.get(LeaseRow, key)
            clock = time.time()
            if row is not None and row.expires_at > clock:
                return False
            if row is None:
                s.add(LeaseRow(key=key, owner=owner, expires_at=clock + ttl, acquired_at=now()))
            else:  # expired: its holder died
                row.owner, row.expires_at, row.acquired_at = owner, clock + ttl, now()
            return True

    def _heartbeat(self, key: str, owner: str, ttl: float, stop: threading.Event) -> None:
        while not stop.wait(ttl / 3):
            try:
                with self._tx() as s:
                    row = s.get(LeaseRow, key)
                    if row is None or row.owner != owner:
                        print(f"mlenv: build lease {key[:12]} was lost", file=sys.stderr)
                        return
                    row.expires_at = time.time() + ttl
            except SQLAlchemyError:  # a busy database: try again at the next beat
                continue
