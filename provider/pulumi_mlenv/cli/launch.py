"""The ``mlenv`` console script's first step: a quick path for the one
read a user types most, ``mlenv run list``, then the full command line.

Importing typer, the command modules and SQLAlchemy costs most of a second
before anything is printed; a plain ``mlenv run list [--json] [--limit N]``
on a SQLite workspace at the current schema needs none of it and prints
exactly what the command prints. Anything else (``--help``, another option,
another database, a schema to upgrade, an error to report) goes to the full
command line, which behaves as it always has.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main", "parse_run_list"]


def parse_run_list(args: Sequence[str]) -> tuple[int, bool] | None:
    """``(limit, as_json)`` when ``args`` is ``run list`` with only the
    options the quick path knows; ``None`` for anything else."""
    if list(args[:2]) != ["run", "list"]:
        return None
    limit, as_json = 20, False
    rest = list(args[2:])
    while rest:
        arg = rest.pop(0)
        if arg == "--json":
            as_json = True
            continue
        if arg.startswith("--limit="):
            value = arg.removeprefix("--limit=")
        elif arg in ("--limit", "-n") and rest:
            value = rest.pop(0)
        else:
            return None
        if not value.isdigit():
            return None
        limit = int(value)
    return limit, as_json


def _quick(args: Sequence[str]) -> bool:
    parsed = parse_run_list(args)
    if parsed is None:
        return False
    from pulumi_mlenv.config import Settings
    from pulumi_mlenv.errors import MlenvError
    from pulumi_mlenv.service.run_reads import quick_list_runs

    try:
        records = quick_list_runs(Settings.from_env().workspace_url, parsed[0])
    except MlenvError:
        return False  # the full command reports it
    if records is None:
        return False
    from pulumi_mlenv.cli.run_views import print_runs

    print_runs(records, parsed[1])
    return True


def main() -> None:
    """Entry point of the ``mlenv`` console script."""
    if _quick(sys.argv[1:]):
        return
    from pulumi_mlenv.cli.main import main as full

    full()
