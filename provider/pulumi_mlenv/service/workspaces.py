"""The workspace use case: open a workspace database (creating its tables)."""

from __future__ import annotations

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.service.backends import backends_or_real
from pulumi_mlenv.service.ports import Backends

__all__ = ["check_workspace_url", "open_workspace"]


def check_workspace_url(url: str) -> None:
    """Raise ``MlenvError`` unless ``url`` looks like a database URL."""
    if "://" not in url:
        raise MlenvError(
            f"url: '{url}' is not a database URL; give path= for a SQLite file, "
            "or a SQLAlchemy URL such as sqlite:///ws.db or postgresql+psycopg://host/db"
        )


def open_workspace(url: str, *, backends: Backends | None = None) -> None:
    """Open the workspace at ``url`` once (its tables are created when
    missing), then close it. Raises ``MlenvError`` when it cannot be opened."""
    with backends_or_real(backends).store(url):
        pass
