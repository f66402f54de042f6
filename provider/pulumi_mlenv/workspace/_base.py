"""The one base of the workspace's stores (environments, runs, serving):
an engine on the workspace's URL, one short transaction per method, and
``close()`` / ``with`` to release it. Each store opens (and migrates) the
same schema: one database, one history of migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pulumi_mlenv.closing import Closing

if TYPE_CHECKING:  # SQLAlchemy is imported by the store that opens an engine
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

__all__ = ["StoreBase"]


class StoreBase(Closing):
    """``url`` (normalised) and its engine; ``_shared`` when the engine is
    the process's shared one for this URL (kept open for the next store)."""

    url: str
    _engine: Engine
    _shared: bool = False

    def close(self) -> None:
        """Release the store: a private engine is disposed; the process's
        shared engine for this URL keeps its pooled connections for the next."""
        if not self._shared:
            self._engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        from sqlalchemy.orm import Session

        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield session
