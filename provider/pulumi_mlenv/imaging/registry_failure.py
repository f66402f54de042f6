"""Which registry a failed build could not reach, read from BuildKit's own
words. BuildKit reports a registry that refused a push or a pull in the same
stream as its own failures; the user must be told it was the registry (and
which one), not the build daemon, that did not answer."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["RegistryFailure", "registry_failure"]

_DIAL = re.compile(r"dial tcp (\[?[\w.:-]+\]?:\d+): (?:connect: )?([a-z][a-z ]+[a-z])")
_PUSH = re.compile(r"failed to push ([^\s:/]+(?::\d+)?)/")
_PULL = re.compile(
    r"(?:failed to resolve source metadata for|failed to fetch|failed to copy:.*?|"
    r"failed to do request: (?:Head|Get) \"https?://)([^\s:/\"]+(?::\d+)?)/"
)
_GONE = ("connection refused", "no route to host", "i/o timeout", "connection reset by peer")


@dataclass(frozen=True, slots=True)
class RegistryFailure:
    """``host`` (``host:port``) did not answer while the build was
    ``action`` (``pushing the image`` or ``pulling its base``); ``reason`` as
    the network said it."""

    host: str
    action: str
    reason: str

    def message(self) -> str:
        return (
            f"registry {self.host} did not answer while {self.action} ({self.reason}): "
            "start it or check its address (MLENV_REGISTRY, the definition's image); "
            "nothing was recorded"
        )


def registry_failure(text: str, buildkit_host: str) -> RegistryFailure | None:
    """The registry a build failed to reach, or None when the failure is not
    a registry that stopped answering (the daemon's own address is never one)."""
    dial = _DIAL.search(text)
    if dial is None or not any(g in dial.group(2) for g in _GONE):
        return None
    address = dial.group(1)
    if address in buildkit_host:
        return None
    push = _PUSH.search(text)
    if push is not None:
        return RegistryFailure(push.group(1), "pushing the image", dial.group(2))
    pull = _PULL.search(text)
    host = pull.group(1) if pull is not None else address
    return RegistryFailure(host, "pulling an image the build starts from", dial.group(2))
