"""The stdout printer itself, apart from typer so that the quick path of
``mlenv run list`` (``cli/launch.py``) prints with it too: ``cli/output.py``
is the module commands use (it adds the ``--json`` option and tables)."""

from __future__ import annotations

import json
import sys

from rich.console import Console

__all__ = ["document", "emit", "line", "out"]

#: Results. Piped output is as wide as its longest line (rich would
#: otherwise assume 80 columns and cut table cells).
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 100_000)


def emit(value: object) -> None:
    """The ``--json`` result: one document on stdout."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
    sys.stdout.flush()


def line(text: str) -> None:
    """One plain result line (no markup: brackets in names stay as written)."""
    out.print(text, markup=False)


def document(text: str) -> None:
    """A stored JSON document (an SBOM, a provenance statement, an envelope)
    printed byte for byte as it is kept, so that a signature over it holds."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
