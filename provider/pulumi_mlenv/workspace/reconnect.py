"""A PostgreSQL workspace whose server restarts under a running command.

The pool pings a connection before lending it (``pool_pre_ping``), so
connections left idle across a restart are replaced. A step whose
connection the restart broke (``AdminShutdown``, connection refused while
the server comes back) waits for the server, up to ``WAIT_SECONDS``, and is
run once more: each step of the store is one transaction, idempotent (a
version already registered for the same hash is returned, not numbered
again), so running it twice never duplicates or skips a number. If the
server is still not back, one line says so instead of a driver traceback.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError

from pulumi_mlenv.errors import MlenvError

__all__ = ["WAIT_SECONDS", "reconnect_methods", "reconnecting"]

#: How long a step waits for a restarting server before it gives up.
WAIT_SECONDS = 30.0
_POLL = 0.5

F = TypeVar("F", bound=Callable[..., Any])


def _disconnected(exc: DBAPIError) -> bool:
    return bool(exc.connection_invalidated) or isinstance(exc, OperationalError)


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return f"{type(orig).__name__}: {' '.join(str(orig).split())[:160]}"


def _wait_for(engine: Engine) -> bool:
    """True once the server answers again (within ``WAIT_SECONDS``)."""
    engine.dispose(close=False)  # every pooled connection is from before the restart
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except DBAPIError:
            if time.monotonic() > deadline:
                return False
            time.sleep(_POLL)


def reconnecting(method: F) -> F:
    """``method`` of a store (``self._engine``, ``self.url``), run once more
    after a PostgreSQL disconnect, else failing in one line."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        engine: Engine = self._engine
        try:
            return method(self, *args, **kwargs)
        except DBAPIError as exc:
            if engine.dialect.name != "postgresql" or not _disconnected(exc):
                raise
            first = exc
        shown = make_url(self.url).render_as_string(hide_password=True)
        if not _wait_for(engine):
            raise MlenvError(
                f"workspace {shown}: the database server stopped answering ({_reason(first)})"
                f" and was not back within {WAIT_SECONDS:.0f} s; nothing of this step was"
                " recorded: rerun once it answers"
            )
        try:
            return method(self, *args, **kwargs)
        except DBAPIError as again:
            if not _disconnected(again):
                raise
            raise MlenvError(
                f"workspace {shown}: the database server dropped the connection twice"
                f" ({_reason(again)}); nothing of this step was recorded: rerun"
            ) from None

    return wrapper  # type: ignore[return-value]


def reconnect_methods(cls: type, *, skip: frozenset[str]) -> None:
    """Wrap every public method of ``cls`` but ``skip`` with ``reconnecting``."""
    for name, value in list(vars(cls).items()):
        if name.startswith("_") or name in skip or not callable(value):
            continue
        setattr(cls, name, reconnecting(value))
