"""``mlenv env versions NAME``: how environments changed over time, read
from the workspace (``MLENV_WORKSPACE``). ``mlenv env explain NAME:A NAME:B``
lives beside the explain of two files, in ``env_commands``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from pulumi_mlenv.cli.env_commands import env_app
from pulumi_mlenv.cli.main import user_errors
from pulumi_mlenv.cli.output import JsonOpt, emit, out
from pulumi_mlenv.config import Settings

__all__ = ["register"]


def _version_json(r: Any) -> dict[str, Any]:
    """One version (a workspace ``VersionRecord``) as ``env versions --json`` prints it."""
    return {
        "name": r.name,
        "version": r.version,
        "hash": r.env_hash,
        "image": r.image,
        "status": r.status,
        "holders": list(r.holders),
        "registered": r.created_at,
        "archived": r.archived_at,
    }


@env_app.command("versions")
def versions_command(
    name: Annotated[str | None, typer.Argument(help="Only this environment.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Archived versions too (nothing holds them).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List environment versions: hash, image, status, holders and dates.

    A version is active while a stack, run or deployment holds it; once
    nothing does it is archived: hidden here unless --all, still resolvable
    as NAME:VERSION. Versions that share a hash share an image.

    Examples:

        mlenv env versions train

        mlenv env versions train --all --json

        MLENV_WORKSPACE=postgresql+psycopg://mlenv@127.0.0.1:5433/mlenv mlenv env versions
    """
    from pulumi_mlenv.service.history import versions

    with user_errors():
        records = versions(Settings.from_env().workspace_url, name, include_archived=all_)
    if as_json:
        emit([_version_json(r) for r in records])
        return
    table = Table(title="Environment versions", show_lines=False)
    for column in ("name", "version", "hash", "image", "status", "holders", "registered"):
        table.add_column(column, no_wrap=True)
    for r in records:
        archived = f" (archived {r.archived_at[:10]})" if r.archived_at else ""
        when = str(r.created_at)[:16] + archived
        table.add_row(
            r.name,
            r.version,
            r.env_hash[:12],
            r.digest[:19] or r.image,
            r.status,
            ", ".join(r.holders) or "-",
            when,
        )
    out.print(table)
    if not records:
        where = f" for {name}" if name else ""
        out.print(f"no {'' if all_ else 'active '}versions registered{where}")


def register(app: typer.Typer) -> None:
    """The commands hang off ``env_app``: importing this module is enough."""
