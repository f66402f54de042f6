"""Things used in a ``with`` block that must be released when it ends: the
registry session, the workspace stores, an OCI layout being written. A leaf
module, like ``errors``: it imports nothing of ours."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["Closing"]


class Closing:
    """Leaving the ``with`` block calls ``close``; leaving it on an error
    calls ``abort``, which is ``close`` unless a half-done result must be
    thrown away instead of finished."""

    __slots__ = ()

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
