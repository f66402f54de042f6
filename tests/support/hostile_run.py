"""Load one hostile case the way the product would, and watch what it does.

``run_case`` reads a case (``hostile.lay_out``) through ``load_definition``
(or, for a program's inputs, ``definition_from_inputs``), then hashes it and
lists its unpinned packages, as ``pulumi preview`` does. It returns what a
user would see (accepted, or the error), every file the read opened or
listed outside the case's folder (a Python audit hook sees each ``open``,
``os.listdir`` and ``os.scandir``, symlinks resolved; the interpreter's and
the product's own code excepted), and the CPU time and traced memory peak
(the benchmark bounds those; the tests do not time anything).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import tracemalloc
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_mlenv.definition import (
    EnvironmentSpec,
    compute_hash,
    load_definition,
    to_dict,
    unpinned_packages,
)
from pulumi_mlenv.errors import DefinitionWarning, MlenvError
from pulumi_mlenv.service.environments import definition_from_inputs
from support.hostile import Case, lay_out

__all__ = ["Outcome", "run_case"]

_ROOT = Path(__file__).resolve().parents[2]
#: Code the interpreter may open while a case loads (a lazy import).
_CODE = tuple(
    {
        os.path.realpath(p)
        for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, _ROOT / "provider")
    }
)


@dataclass
class Outcome:
    """What one case did."""

    ident: str
    fmt: str
    #: ``accepted``, ``refused`` (our error) or ``traceback`` (anything else).
    verdict: str
    #: The error as the user sees it, or the traceback.
    message: str = ""
    spec: EnvironmentSpec | None = None
    #: Problems of the error that name no file and no field.
    unnamed: list[str] = field(default_factory=list)
    #: Files opened or listed outside the folder.
    outside: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0
    peak_bytes: int = 0


class _Watch:
    """An audit hook that records reads outside ``folder`` while armed."""

    def __init__(self) -> None:
        self.folder: str | None = None
        self.seen: list[str] = []
        self._busy = False

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.folder is None or self._busy or event not in _EVENTS:
            return
        path = args[0] if args else None
        if not isinstance(path, str | bytes | os.PathLike):
            return  # a file descriptor: opened before, and seen then
        self._busy = True
        try:
            real = os.path.realpath(os.fsdecode(path))
            inside = real == self.folder or real.startswith(self.folder + os.sep)
            if not inside and not real.startswith(_CODE):
                self.seen.append(f"{event} {real}")
        finally:
            self._busy = False


_EVENTS = {"open", "os.listdir", "os.scandir"}
# Imported once here, so that the first case does not count their imports.
import docker.utils.build  # noqa: E402,F401

_WATCH = _Watch()
sys.addaudithook(_WATCH.hook)


def _inputs(path: Path) -> Any:
    """The program's inputs a case holds; bytes that are no JSON document
    become the text of a field (a program may pass any string)."""
    raw = path.read_bytes()
    try:
        return json.loads(raw)
    except RecursionError:
        deep: Any = []
        for _ in range(100_000):
            deep = [deep]
        return {"name": "deep", "tags": {"x": deep}}
    except ValueError:
        return {"name": "text", "description": raw.decode("utf-8", "surrogateescape")}


def _load(path: Path, fmt: str) -> EnvironmentSpec:
    if fmt == "inputs":
        inputs = _inputs(path)
        spec = definition_from_inputs(inputs if isinstance(inputs, dict) else {"tags": inputs})
    else:
        spec = load_definition(path)
    compute_hash(spec)
    unpinned_packages(spec)
    to_dict(spec)
    return spec


def run_case(base: Path, case: Case, *, trace: bool = False) -> Outcome:
    """Lay ``case`` out under ``base`` (a new folder) and load it; with
    ``trace``, measure its traced memory peak (it triples the cost)."""
    target = lay_out(base, case)
    out = Outcome(case.ident, case.fmt, "accepted")
    _WATCH.folder, _WATCH.seen = os.path.realpath(base / "def"), []
    if trace:
        tracemalloc.start()
    start = time.process_time()
    try:
        with warnings.catch_warnings():
            # Broken inputs repeat lines on purpose: the warnings are expected.
            warnings.simplefilter("ignore", DefinitionWarning)
            out.spec = _load(target, case.fmt)
    except MlenvError as err:
        out.verdict, out.message = "refused", str(err)
        problems = getattr(err, "problems", ())
        out.unnamed = [str(p) for p in problems if not p.path.strip()]
    except BaseException:
        _WATCH.folder = None  # formatting reads the source files
        out.verdict, out.message = "traceback", traceback.format_exc()
    finally:
        out.cpu_seconds = time.process_time() - start
        _WATCH.folder = None
        if trace:
            out.peak_bytes = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    out.outside = list(_WATCH.seen)
    return out
