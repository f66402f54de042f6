"""Ports on the loopback address: containers and proxies share the host's
network (the engine runs without a bridge), so each service gets a port of
its own, picked here and recorded by the caller."""

from __future__ import annotations

import socket
from collections.abc import Collection

__all__ = ["HOST", "allocate_port", "port_in_use"]

HOST = "127.0.0.1"
_ATTEMPTS = 50


def port_in_use(port: int, host: str = HOST) -> bool:
    """True when something listens on ``host:port`` or the port cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((host, port)) == 0:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As servers do: connections in TIME_WAIT do not make a port busy.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))  # servers here bind every address
        except OSError:
            return True
    return False


def allocate_port(exclude: Collection[int] = ()) -> int:
    """A free port chosen by the kernel, not in ``exclude`` (ports recorded
    for services that may be stopped right now)."""
    for _ in range(_ATTEMPTS):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
        if port not in exclude and not port_in_use(port):
            return port
    raise OSError("no free port found on the loopback address")
