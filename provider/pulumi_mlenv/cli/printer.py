"""The stdout printer itself, apart from typer so that the quick path of
``mlenv run list`` (``cli/launch.py``) prints with it too: ``cli/output.py``
is the module commands use (it adds the ``--json`` option and tables)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from rich.console import Console

    #: Results. Piped output is as wide as its longest line (rich would
    #: otherwise assume 80 columns and cut table cells).
    out: Console

__all__ = ["document", "emit", "line", "out"]


def _console() -> Console:
    # Made on first use: ``--json`` of a quick path (``mlenv run submit``)
    # needs no rich import.
    console = cast("Console | None", globals().get("out"))
    if console is None:
        from rich.console import Console

        width = None if sys.stdout.isatty() else 100_000
        console = globals()["out"] = Console(highlight=False, soft_wrap=True, width=width)
    return console


def __getattr__(name: str) -> Any:
    if name != "out":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _console()


def emit(value: object) -> None:
    """The ``--json`` result: one document on stdout."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
    sys.stdout.flush()


def line(text: str) -> None:
    """One plain result line (no markup: brackets in names stay as written)."""
    _console().print(text, markup=False)


def document(text: str) -> None:
    """A stored JSON document (an SBOM, a provenance statement, an envelope)
    printed byte for byte as it is kept, so that a signature over it holds."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
