"""Ports for services (deployments, endpoint proxies), picked under one
machine-wide lock so that two starting at once never share one: the caller
records its service inside ``port_lock`` before another can pick."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import EngineError, SpecError
from pulumi_mlenv.service.outside import Outside

__all__ = ["IN_USE_FIX", "pick_port", "port_lock"]

#: The fix said with a port that is taken.
IN_USE_FIX = "give another port, or leave port unset to get a free one"


@contextmanager
def port_lock(settings: Settings) -> Iterator[None]:
    """The machine-wide lock of port picking (a file under the cache)."""
    locks = Path(settings.cache_dir).expanduser() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with FileLock(str(locks / "ports.lock")):
        yield


def pick_port(wanted: int | None, recorded: Collection[int], io: Outside, owner: str) -> int:
    """``wanted`` when it is free and no service records it (``SpecError``
    naming ``port`` otherwise), else a free port none records. Call it inside
    ``port_lock``."""
    if wanted is not None:
        if io.tcp.in_use(wanted) or wanted in recorded:
            raise SpecError.at("port", f"port {wanted} on 127.0.0.1 is already in use", IN_USE_FIX)
        return wanted
    try:
        return io.tcp.allocate(recorded)
    except OSError as exc:
        raise EngineError(f"{owner}: {exc}") from None
