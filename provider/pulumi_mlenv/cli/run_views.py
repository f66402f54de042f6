"""How runs are shown: the JSON a script reads and the table a person
reads. Apart from the commands (no typer here) so that the quick path of
``mlenv run list`` (``cli/launch.py``) prints exactly what the command does.
"""

from __future__ import annotations

from typing import Any

from pulumi_mlenv.cli import printer
from pulumi_mlenv.cli.printer import emit

__all__ = ["as_json", "print_runs"]


_SHOWN = {"env_name", "env_version", "env_hash", "image", "logs_path", "outputs_path"}


def as_json(record: Any) -> dict[str, Any]:
    """The JSON a script reads: the contract's keys first, then the rest."""
    data = record.to_dict()
    return {
        "id": record.id,
        "status": record.status.value,
        "exit_code": record.exit_code,
        "compute": record.compute,
        "outputs": record.outputs_path,
        "logs": record.logs_path,
        "environment": {
            "name": record.env_name,
            "version": record.env_version,
            "hash": record.env_hash,
            "image": record.image,
        },
        **{k: v for k, v in data.items() if k not in _SHOWN},
    }


def print_runs(records: list[Any], as_json_list: bool) -> None:
    """``mlenv run list``'s output: a JSON list, or a table (and a hint when empty)."""
    if as_json_list:
        emit([as_json(r) for r in records])
        return
    from rich.table import Table

    table = Table(title="Runs", title_justify="left")
    for column in ("id", "status", "exit", "environment", "compute", "script", "started"):
        table.add_column(column, no_wrap=True)
    for r in records:
        table.add_row(
            r.id,
            r.status.value,
            "" if r.exit_code is None else str(r.exit_code),
            f"{r.env_name}:{r.env_version}",
            r.compute,
            " ".join([r.script, *r.arguments])[:60],
            (r.started_at or r.created_at)[:19],
        )
    out = printer.out  # made on first use (rich)
    out.print(table)
    if not records:
        out.print("no runs yet: mlenv run submit SCRIPT --env DEFINITION")
