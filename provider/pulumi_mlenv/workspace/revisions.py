"""The workspace schema's head revisions, read from the migration scripts'
``revision`` / ``down_revision`` lines with the standard library: the same
answer as Alembic's (``tests/cli/test_quick_run_list.py`` compares them),
without importing Alembic (about a third of a second) in every process that
opens a workspace already at the current schema.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

__all__ = ["VERSION_TABLE", "script_heads"]

#: Where Alembic keeps a database's revision (its default name).
VERSION_TABLE = "alembic_version"

_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


@cache
def script_heads() -> frozenset[str]:
    """The revisions of a fully upgraded workspace (one per branch)."""
    folder = resources.files("pulumi_mlenv.workspace") / "migrations" / "versions"
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in folder.iterdir():
        if not script.name.endswith(".py") or script.name.startswith("__"):
            continue
        text = script.read_text(encoding="utf-8")
        found = _REVISION.search(text)
        if found:
            revisions.add(found.group(1))
        down = _DOWN.search(text)
        if down:
            parents.update(_QUOTED.findall(down.group(1)))
    return frozenset(revisions - parents)
