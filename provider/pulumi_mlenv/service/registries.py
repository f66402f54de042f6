"""The registry use case: is an address a registry we can use, with its login?"""

from __future__ import annotations

from dataclasses import replace

from pulumi_mlenv.config import Settings
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.outside import Outside

__all__ = ["check_registry"]


def check_registry(
    address: str,
    *,
    username: str | None,
    password: str | None,
    settings: Settings,
    outside: Outside | None = None,
) -> None:
    """Raise ``RegistryError`` (one line, never the password) unless the
    registry at ``address`` answers with this login."""
    host = address.split("/", 1)[0]
    logins = settings.registry_credentials
    if username and password:
        logins = ((host, username, password), *logins)
    with_login = replace(settings, registry_credentials=logins)
    with outside_or_real(outside).registry(address, with_login) as client:
        client.ping()
