"""Everything ``mlenv`` prints on stdout goes through here: results only,
whole, never wrapped or cut (progress and problems go to stderr).

One ``--json`` shape for every command (docs/cli.md lists them): a command
about one thing prints one JSON object, a listing prints one JSON array of
such objects (``[]`` when empty), indented by two spaces, keys in
snake_case, no colour, nothing else on stdout. Errors are never JSON: a
message on stderr and a non-zero exit code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

__all__ = ["JsonOpt", "document", "emit", "line", "out", "table"]

#: The ``--json`` option, the same words on every command.
JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="Print the result as JSON on stdout (for scripts; docs/cli.md)."),
]

from pulumi_mlenv.cli.printer import document, emit, line, out  # noqa: E402


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    title: str | None = None,
    empty: str | None = None,
) -> None:
    """A table of results; ``empty`` is said instead when there are no rows."""
    shown = Table(title=title, title_justify="left")
    for column in columns:
        shown.add_column(column, no_wrap=True)
    count = 0
    for row in rows:
        shown.add_row(*(Text(cell) for cell in row))
        count += 1
    if count == 0 and empty:
        line(empty)
        return
    out.print(shown)
