"""Which registries are spoken to over plain HTTP (loopback, and the hosts
listed in ``MLENV_INSECURE_REGISTRIES``): the standard library answers, so
the quick manifest check (``plain_head``) asks without importing requests."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

__all__ = ["is_insecure_host"]

_LOOPBACK_NAMES = frozenset({"localhost"})


def _hostname(host: str) -> str:
    """``127.0.0.1:5000`` -> ``127.0.0.1``; ``[::1]:5000`` -> ``::1``."""
    if host.startswith("["):
        return host[1 : host.index("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_insecure_host(host: str, env: Mapping[str, str] | None = None) -> bool:
    """True when ``host`` is spoken to over plain HTTP: loopback addresses and
    the hosts listed in ``MLENV_INSECURE_REGISTRIES`` (``host`` or ``host:port``)."""
    from pulumi_mlenv.config import insecure_registries

    name = _hostname(host).lower()
    listed = insecure_registries(env)
    if host.lower() in listed or name in listed or name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
