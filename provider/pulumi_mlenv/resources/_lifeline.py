"""The dynamic provider process ends when the engine that started it goes
away (``pulumi up`` killed, a CI job cancelled): it stops what it started
(a build, a container) and exits, instead of finishing a build nobody waits
for and lingering. The engine starts the provider through a small shell
script (``pulumi-resource-pulumi-python``) that stays as its parent, so the
engine is gone when the parent, or the parent's parent, is re-parented. It
then also stops the engine's language host, which would otherwise wait for
minutes for the engine that started it (``watch_program`` does the same from
the program's side)."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

from pulumi_mlenv import procfs

__all__ = ["watch_parent", "watch_program"]

#: How often the parent is looked at, in seconds.
POLL_SECONDS = 1.0

_started = False
_lock = threading.Lock()


def _stop_everything(also: int | None = None) -> None:
    for pid in procfs.descendants(os.getpid()) + ([also] if also else []):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    os._exit(3)  # no cleanup handlers: the engine that would read them is gone


def _ancestors() -> list[tuple[int, int | None]]:
    """(pid, its parent) of our parent and grandparent."""
    parent = os.getppid()
    grandparent = procfs.parent(parent)
    chain = [(parent, grandparent)]
    if grandparent and grandparent > 1:
        chain.append((grandparent, procfs.parent(grandparent)))
    return chain


def _watch(chain: list[tuple[int, int | None]], also: int | None = None) -> None:
    hosts = _language_hosts(chain)
    while True:
        time.sleep(POLL_SECONDS)
        if any(procfs.parent(pid) != ppid for pid, ppid in chain):
            for host in hosts:  # siblings that served the same, now gone, engine
                if "pulumi-language-" in _cmdline(host):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(host, signal.SIGTERM)
            _stop_everything(also)


def _language_hosts(chain: list[tuple[int, int | None]]) -> list[int]:
    """The language hosts the engine above us runs (its direct children)."""
    found: list[int] = []
    for pid, _ in chain:
        found += [k for k in procfs.children(pid) if "pulumi-language-" in _cmdline(k)]
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


#: The `pulumi` CLI above this program's language host (``watch_program``).
_engine: int | None = None


def _interrupted(_signum: int, _frame: object) -> None:
    from pulumi_mlenv.resources._inflight import died_during

    # A provider that died mid-build left a note: say what it was doing.
    lines = died_during(_engine) or ["mlenv: the update was interrupted; the program stopped"]
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()
    os._exit(130)


def _say_what_died() -> None:
    from pulumi_mlenv.resources._inflight import died_during

    lines = died_during(_engine)
    if lines:
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()


def _end_orphaned_host(host: int, cli: int | None) -> None:
    if procfs.parent(host) not in (None, cli):
        with contextlib.suppress(ProcessLookupError):
            os.kill(host, signal.SIGTERM)


def watch_program() -> None:
    """In a Pulumi program's process (its parent is the language host): when
    the `pulumi` CLI above the language host goes away, stop the language
    host and the program, which would otherwise wait for minutes for an
    engine that is gone. Elsewhere (a provider, a test) it does nothing."""
    global _started
    host = os.getppid()
    if "pulumi-language-" not in _cmdline(host):
        return
    with _lock:
        if _started or not Path("/proc").is_dir():
            return
        _started = True
    global _engine
    chain = [(host, procfs.parent(host))]
    _engine = chain[0][1]
    # The engine cancels an update (a provider died, Ctrl-C) by SIGINT to the
    # program: one line, not a 14-line KeyboardInterrupt traceback of the
    # language host's event loop. Only the main thread may set a handler.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, _interrupted)
    # The program may end first (its engine connection broke): on the way
    # out it stops the language host too when the CLI above it is gone.
    atexit.register(_end_orphaned_host, host, chain[0][1])
    # The engine answers a resource whose provider died with an error, and
    # the program ends: say then what the provider was doing.
    atexit.register(_say_what_died)
    threading.Thread(target=_watch, args=(chain, host), name="mlenv-lifeline", daemon=True).start()


def watch_parent() -> None:
    """Start, once per process, a daemon thread that ends the process (and
    its children) when its parent goes away."""
    global _started
    with _lock:
        if _started or not Path("/proc").is_dir():
            return
        _started = True
    threading.Thread(
        target=_watch, args=(_ancestors(),), name="mlenv-lifeline", daemon=True
    ).start()
