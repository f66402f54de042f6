"""The map of the code, enforced: which room may import which (see
docs/architecture.md). A newcomer who adds an import across the map gets
this test's message instead of a slow drift."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "provider" / "pulumi_mlenv"

#: room -> rooms of ours it may import (besides itself). ``None``: anything.
MAY_IMPORT: dict[str, set[str] | None] = {
    "definition": {"errors"},
    "imaging": {"definition", "errors", "config"},
    "registry": {"errors", "config"},
    "workspace": {"errors", "config"},
    "compute": {"errors", "config"},
    "policy": {"definition", "errors"},
    "service": {"definition", "imaging", "registry", "workspace", "compute", "errors", "config"},
    "resources": {"service", "definition", "policy", "errors", "config"},
    "cli": {"service", "definition", "policy", "errors", "config", "ui"},
    # The page front door: records only through the service.
    "ui": {"service", "errors", "config"},
}
#: Third-party packages only some rooms may touch.
ONLY_IN = {
    "pulumi": {"resources"},
    "typer": {"cli"},
    "rich": {"cli"},
    "starlette": {"ui"},
    "uvicorn": {"ui"},
    "jinja2": {"ui"},
}


def _room(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if _room(p) in MAY_IMPORT)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_rooms_import_only_what_the_map_allows(path: Path) -> None:
    room = _room(path)
    allowed = MAY_IMPORT[room]
    wrong = []
    for line, module in _imports(path):
        parts = module.split(".")
        if parts[0] == "pulumi_mlenv" and len(parts) > 1:
            other = parts[1]
            if other != room and allowed is not None and other not in allowed:
                wrong.append(f"line {line}: {module} ({room}/ may import {sorted(allowed)})")
        elif parts[0] in ONLY_IN and room not in ONLY_IN[parts[0]]:
            wrong.append(f"line {line}: {module} (only in {sorted(ONLY_IN[parts[0]])}/)")
    assert not wrong, "\n".join(wrong)
