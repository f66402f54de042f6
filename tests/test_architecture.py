"""The map of the code, enforced: which room may import which, that use
cases reach the outside world only through the one port, and that no
modules import each other in a circle (see docs/architecture.md). A
newcomer who adds an import across the map gets this test's message instead
of a slow drift.

Every import form is read: ``import a.b``, ``from a.b import c``, relative
imports (``from . import x``, ``from ..compute import y``), ``from
pulumi_mlenv import room``, and imports inside functions or under
``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "provider" / "pulumi_mlenv"

#: room -> rooms of ours it may import (besides itself). ``None``: anything.
MAY_IMPORT: dict[str, set[str] | None] = {
    # Linux process facts: a leaf, it imports nothing of ours.
    "procfs": set(),
    # ``with`` blocks that release what they hold: a leaf too.
    "closing": set(),
    "definition": {"errors", "lazy"},
    "imaging": {"definition", "errors", "config", "closing"},
    "registry": {"errors", "config", "lazy", "closing"},
    "workspace": {"errors", "config", "lazy", "procfs", "closing"},
    "compute": {"errors", "config", "lazy", "procfs"},
    "policy": {"definition", "errors"},
    "service": {
        "definition",
        "imaging",
        "registry",
        "workspace",
        "compute",
        "errors",
        "config",
        "lazy",
        "closing",
    },
    "resources": {"service", "definition", "policy", "errors", "config", "procfs"},
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
#: The one module that names the concrete adapters, and the port it fills.
COMPOSITION = "pulumi_mlenv.service.compose"
PORT = "pulumi_mlenv.service.outside"
#: Use-case rooms: they get the outside world from the port.
USE_CASE_ROOMS = ("service", "resources")


@dataclass(frozen=True, slots=True)
class Import:
    line: int
    module: str  # absolute module imported from
    names: tuple[str, ...]  # names taken from it ((): the module itself)
    type_only: bool  # under ``if TYPE_CHECKING``
    in_function: bool


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _absolute(own: str, is_face: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = own.split(".")
    if not is_face:
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, module_name: str | None = None) -> list[Import]:
    """Every import of the file, with where it stands."""
    tree = ast.parse(path.read_text(), str(path))
    own = module_name or _module_name(path)
    found: list[Import] = []

    def visit(node: ast.AST, type_only: bool, in_function: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(node.lineno, alias.name, (), type_only, in_function))
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(own, path.name == "__init__.py", node)
            names = tuple(a.name for a in node.names)
            found.append(Import(node.lineno, module, names, type_only, in_function))
        for child in ast.iter_child_nodes(node):
            child_type_only = type_only or (
                isinstance(node, ast.If) and _is_type_checking(node.test) and child in node.body
            )
            child_in_function = in_function or isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef
            )
            visit(child, child_type_only, child_in_function)

    visit(tree, False, False)
    return found


def _targets(imp: Import) -> list[str]:
    """The modules of ours an import reaches: ``from pulumi_mlenv import
    compute`` and ``from pulumi_mlenv.service import outside`` reach those
    modules, not only the package face."""
    out = [imp.module]
    for name in imp.names:
        candidate = f"{imp.module}.{name}"
        base = PACKAGE.parent / Path(*candidate.split("."))
        if base.with_suffix(".py").exists() or (base / "__init__.py").exists():
            out.append(candidate)
    return out


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "pulumi_mlenv" and len(parts) > 1 else None


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_rooms_import_only_what_the_map_allows(path: Path) -> None:
    room = _room(_module_name(path))
    if room not in MAY_IMPORT:
        return
    allowed = MAY_IMPORT[room]
    wrong = []
    for imp in imports_of(path):
        top = imp.module.split(".")[0]
        for module in _targets(imp):
            other = _room(module)
            if other and other != room and allowed is not None and other not in allowed:
                wrong.append(f"line {imp.line}: {module} ({room}/ may import {sorted(allowed)})")
        if top in ONLY_IN and room not in ONLY_IN[top]:
            wrong.append(f"line {imp.line}: {imp.module} (only in {sorted(ONLY_IN[top])}/)")
    assert not wrong, "\n".join(wrong)


def test_the_reader_sees_every_import_form(tmp_path: Path) -> None:
    """The reader itself: relative, package-face, in-function and type-only imports."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import outside\n"
        "from ..compute import docker_target\n"
        "from pulumi_mlenv import registry\n"
        "if TYPE_CHECKING:\n"
        "    from pulumi_mlenv.workspace import Workspace\n"
        "def f():\n"
        "    import pulumi_mlenv.imaging.buildkit\n"
    )
    imports = imports_of(probe, "pulumi_mlenv.service.probe")
    found = {(i.module, i.names, i.type_only, i.in_function) for i in imports}
    assert ("pulumi_mlenv.service", ("outside",), False, False) in found
    assert ("pulumi_mlenv.compute", ("docker_target",), False, False) in found
    assert ("pulumi_mlenv", ("registry",), False, False) in found
    assert ("pulumi_mlenv.workspace", ("Workspace",), True, False) in found
    assert ("pulumi_mlenv.imaging.buildkit", (), False, True) in found


# -- one way in and out --------------------------------------------------------


def _adapters() -> dict[int, str]:
    """``id(object) -> name`` of every concrete adapter: what the composition
    module imports at run time (its function-level imports). Its type-only
    imports are value and interface names, not adapters."""
    path = PACKAGE / "service" / "compose.py"
    found: dict[int, str] = {}
    for imp in imports_of(path):
        if not imp.in_function or imp.type_only or not imp.module.startswith("pulumi_mlenv."):
            continue
        module = importlib.import_module(imp.module)
        for name in imp.names:
            if name not in _VALUES:
                found[id(getattr(module, name))] = f"{imp.module}.{name}"
    return found


#: Values the composition uses to pick a login (parsing a reference), not adapters.
_VALUES = {"ImageRef", "InvalidImageRef"}


ADAPTERS = _adapters()


def test_the_composition_module_names_every_outside_part() -> None:
    names = {n.rsplit(".", 1)[-1] for n in ADAPTERS.values()}
    for expected in (
        "Workspace",
        "RunStore",
        "ServingStore",
        "RegistryClient",
        "build_image",
        "build_inference_image",
        "resolve_base_image",
        "DockerTarget",
        "parse_target",
        "HAProxy",
        "allocate_port",
        "port_in_use",
        "is_live",
        "local_environment",
    ):
        assert expected in names, f"{COMPOSITION} should pick {expected}"


USE_CASES = sorted(
    p
    for room in USE_CASE_ROOMS
    for p in (PACKAGE / room).rglob("*.py")
    if _module_name(p) not in (COMPOSITION, PORT)
)


def _adapter_modules() -> set[str]:
    """Modules whose only purpose is an adapter (importing them whole is
    naming the adapter)."""
    return {
        "pulumi_mlenv.registry.client",
        "pulumi_mlenv.registry._http",
        "pulumi_mlenv.registry.resolve",
        "pulumi_mlenv.compute.tcp_ports",
        "pulumi_mlenv.compute.health",
        "pulumi_mlenv.imaging.buildkit",
        "pulumi_mlenv.imaging.local_env",
        "pulumi_mlenv.workspace.store",
        "pulumi_mlenv.workspace.runs",
    }


@pytest.mark.parametrize("path", USE_CASES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_use_cases_reach_the_outside_only_through_the_port(path: Path) -> None:
    """No use case or resource names a concrete adapter (a store, the
    registry client, a builder, an engine, the proxy, ports), in any import
    form, at run time or for types: it gets ``Outside`` instead."""
    whole = _adapter_modules()
    wrong = []
    for imp in imports_of(path):
        if not imp.module.startswith("pulumi_mlenv"):
            continue
        module = importlib.import_module(imp.module)
        if not imp.names and imp.module in whole:
            wrong.append(f"line {imp.line}: import {imp.module}")
        for name in imp.names:
            target = getattr(module, name, None)
            if target is None and len(_targets(Import(0, imp.module, (name,), False, False))) > 1:
                target = importlib.import_module(f"{imp.module}.{name}")  # from pkg import mod
            if target is None:  # a type name the port defines for type checkers only
                continue
            if id(target) in ADAPTERS:
                wrong.append(f"line {imp.line}: {ADAPTERS[id(target)]}")
            elif getattr(target, "__name__", "") in whole:
                wrong.append(f"line {imp.line}: the module {target.__name__}")
    assert not wrong, (
        "a concrete adapter outside the composition module; take it from "
        f"Outside ({PORT}) and pick it in {COMPOSITION}:\n" + "\n".join(wrong)
    )


# -- no circles ----------------------------------------------------------------


def _graph() -> dict[str, set[str]]:
    """module -> modules of ours it imports (any form, anywhere in the file)."""
    known = {_module_name(p) for p in MODULES}
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        name = _module_name(path)
        edges: set[str] = set()
        for imp in imports_of(path):
            for module in [*_targets(imp), *_defined_in(imp)]:
                if module in known and module != name:
                    edges.add(module)
        graph[name] = edges
    return graph


def _defined_in(imp: Import) -> list[str]:
    """Where the names taken from a package face are defined: importing a
    face is importing what it re-exports."""
    face = PACKAGE.parent / Path(*imp.module.split(".")) / "__init__.py"
    if not imp.module.startswith("pulumi_mlenv") or not face.exists():
        return []
    module = importlib.import_module(imp.module)
    out = []
    for name in imp.names:
        defined = getattr(getattr(module, name, None), "__module__", None)
        if isinstance(defined, str) and defined.startswith("pulumi_mlenv"):
            out.append(defined)
    return out


def _faces(graph: dict[str, set[str]]) -> set[str]:
    return {p for p in graph if (PACKAGE.parent / Path(*p.split(".")) / "__init__.py").exists()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_no_modules_import_each_other_in_a_circle() -> None:
    """Package faces (``__init__``) are read through: an import of a face
    counts as an import of the modules defining the names it takes."""
    graph = _graph()
    faces = _faces(graph)
    plain = {
        m: {e for e in edges if e not in faces} for m, edges in graph.items() if m not in faces
    }
    circles = _cycles(plain)
    assert not circles, "modules that import each other:\n" + "\n".join(
        " <-> ".join(c) for c in circles
    )
