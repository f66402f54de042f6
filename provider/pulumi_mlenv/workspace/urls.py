"""A workspace's URL in the one form every store and the registry's hold
tags use. Apart from the tables: reading it must not load SQLAlchemy (a
docker run publishes its hold under the workspace's id, and opens no store
when its version is registered already)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["normalise_url"]


def normalise_url(url: str) -> str:
    """A plain path becomes ``sqlite:///<absolute path>``; a URL stays as given."""
    text = url.strip()
    if not text:
        raise ValueError("empty workspace URL")
    if "://" in text:
        # psycopg 3 is the driver we ship; SQLAlchemy's bare scheme means psycopg2.
        for scheme in ("postgresql://", "postgres://"):
            if text.startswith(scheme):
                return "postgresql+psycopg://" + text[len(scheme) :]
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"
