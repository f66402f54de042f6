"""``mlenv gc``: retention. Deletes from their registries the images no
active version and no holder uses, older than the retention."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from pulumi_mlenv.cli.main import err_console, user_errors
from pulumi_mlenv.cli.output import JsonOpt, emit, line, out
from pulumi_mlenv.config import Settings

if TYPE_CHECKING:
    from pulumi_mlenv.service.retention import GcReport

__all__ = ["register"]


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def gc_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")
    ] = False,
    keep_days: Annotated[
        float, typer.Option("--keep-days", help="Keep images last used fewer days ago.")
    ] = 30.0,
    as_json: JsonOpt = False,
) -> None:
    """Delete images that nothing uses any more from their registries.

    An image goes when every version that pointed at it is archived (no stack
    holds it), no run or deployment holds its digest, and it was last used
    more than --keep-days ago. A digest anything holds is never deleted.
    Deleting frees registry space once the registry's garbage collection runs
    (local registry: make registry-gc).

    Examples:

        mlenv gc --dry-run

        mlenv gc --keep-days 7 --json
    """
    from pulumi_mlenv.service.retention import collect

    settings = Settings.from_env()
    with user_errors():
        report = collect(settings.workspace_url, settings, keep_days=keep_days, dry_run=dry_run)
    if as_json:
        emit(_as_json(report))
    else:
        _print_report(report, dry_run)
    for warning in report.warnings:
        err_console.print(f"warning: {warning}", markup=False)
    for c, error in report.failed:
        err_console.print(f"error: {c.image}: {error}", markup=False)
    if report.deleted and not dry_run:
        err_console.print("disk space returns when the registry's garbage collection runs")
    if report.failed:
        raise typer.Exit(1)


def _as_json(report: GcReport) -> dict[str, Any]:
    """The report as ``--json`` prints it."""
    return {
        "dry_run": report.dry_run,
        "keep_days": report.keep_days,
        "bytes": report.bytes,
        "deleted": [
            {
                "image": c.image,
                "hash": c.env_hash,
                "bytes": c.size,
                "versions": list(c.versions),
            }
            for c in report.deleted
        ],
        "kept": [c.image for c in report.kept],
        "saved": [{"image": c.image, "held_by": who} for c, who in report.saved],
        "held": [{"digest": d, "holders": list(h)} for d, h in report.held],
        "warnings": list(report.warnings),
        "failed": [{"image": c.image, "error": e} for c, e in report.failed],
    }


def _print_report(report: GcReport, dry_run: bool) -> None:
    """The report as a table and lines."""
    verb = "would delete" if dry_run else "deleted"
    table = Table(title=f"Images {verb}", show_lines=False)
    for column in ("image", "bytes", "versions (archived)"):
        table.add_column(column, no_wrap=True)
    for c in report.deleted:
        table.add_row(c.image, _size(c.size), ", ".join(c.versions) or "-")
    if report.deleted:
        out.print(table)
    line(
        f"{verb} {len(report.deleted)} image{'s' * (len(report.deleted) != 1)}, "
        f"{_size(report.bytes)} (compressed; shared layers stay while any image uses them)"
    )
    for c in report.kept:
        line(f"kept {c.image}: held since the plan was made")
    for c, who in report.saved:
        line(f"kept {c.image}: held by {who}")
    if dry_run:
        for digest, holders in report.held:
            line(f"kept {digest}: held here by {', '.join(holders)}")


def register(app: typer.Typer) -> None:
    """Add ``mlenv gc``."""
    app.command("gc")(gc_command)
