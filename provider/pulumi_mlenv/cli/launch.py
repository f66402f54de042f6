"""The ``mlenv`` console script's first step: quick paths for what a user
types most, ``mlenv run list`` and ``mlenv run submit``, then the full
command line.

Importing typer, the command modules and SQLAlchemy costs most of a second
before anything is printed; a plain ``mlenv run list [--json] [--limit N]``
on a SQLite workspace at the current schema needs none of it and prints
exactly what the command prints. ``mlenv run submit SCRIPT --env E
[--compute C] [--source S] [--json] [-- ARGS]`` calls the same use case and
reports through the same code as the command (``cli/run_exec.py``), without
typer. Anything else (``--help``, another option or form, another database,
a schema to upgrade, an error to report before a run) goes to the full
command line, which behaves as it always has.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SubmitArgs", "main", "parse_run_list", "parse_run_submit"]

#: ``run submit`` options the quick path takes (long and short forms).
_SUBMIT_OPTIONS = {"--env": "env", "-e": "env", "--compute": "compute", "-c": "compute",
                   "--source": "source", "-s": "source"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class SubmitArgs:
    """``mlenv run submit`` as the command would read it."""

    script: str
    env: str
    compute: str = "local"
    source: str | None = None
    arguments: tuple[str, ...] = ()
    as_json: bool = False


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


def parse_run_submit(args: Sequence[str]) -> SubmitArgs | None:
    """``args`` as ``SubmitArgs`` when they are ``run submit`` in the forms
    the quick path knows (each option once); ``None`` for anything else."""
    if list(args[:2]) != ["run", "submit"]:
        return None
    values: dict[str, str] = {}
    positional: list[str] = []
    as_json = False
    rest = list(args[2:])
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            positional.extend(rest)
            break
        if arg == "--json" and not as_json:
            as_json = True
            continue
        name, given, value = arg.partition("=")
        key = _SUBMIT_OPTIONS.get(name if given and name.startswith("--") else arg)
        if key is not None and key not in values:
            if not given:
                if not rest or rest[0].startswith("-"):
                    return None
                value = rest.pop(0)
            values[key] = value
            continue
        if arg.startswith("-"):
            return None  # --help, another option, a repeated one: the full command line
        positional.append(arg)
    if not positional or "env" not in values:
        return None
    return SubmitArgs(
        script=positional[0],
        env=values["env"],
        compute=values.get("compute", "local"),
        source=values.get("source"),
        arguments=tuple(positional[1:]),
        as_json=as_json,
    )


def _quick_submit(args: Sequence[str]) -> int | None:
    parsed = parse_run_submit(args)
    if parsed is None:
        return None
    from pulumi_mlenv.config import Settings
    from pulumi_mlenv.errors import MlenvError

    try:
        settings = Settings.from_env()
    except MlenvError:
        return None  # the full command reports it
    from pulumi_mlenv.cli.run_exec import execute
    from pulumi_mlenv.service.runs import RunRequest, submit

    request = RunRequest(
        script=parsed.script,
        environment=parsed.env,
        compute=parsed.compute,
        arguments=parsed.arguments,
        source=parsed.source,
    )
    return execute(lambda events: submit(request, settings=settings, events=events), parsed.as_json)


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
    code = _quick_submit(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from pulumi_mlenv.cli.main import main as full

    full()
