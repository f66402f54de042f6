"""``mlenv env versions [NAME]``: how environments changed over time,
read from the workspace (``MLENV_WORKSPACE``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from pulumi_mlenv.cli.env_commands import env_app
from pulumi_mlenv.cli.main import out, user_errors
from pulumi_mlenv.config import Settings

__all__ = ["register"]

console = out


@env_app.command("versions")
def versions_command(
    name: Annotated[str | None, typer.Argument(help="Only this environment.")] = None,
) -> None:
    """List the environment versions registered in the workspace, with the
    hash and image each maps to. Versions that share a hash share an image.

    Examples:

        mlenv env versions

        MLENV_WORKSPACE=sqlite:///team.db mlenv env versions train
    """
    from pulumi_mlenv.service.environments import list_versions

    with user_errors():
        records = list_versions(name, Settings.from_env().workspace_url)
    table = Table(title="Environment versions", show_lines=False)
    for column in ("name", "version", "hash", "image", "registered"):
        table.add_column(column, no_wrap=True)
    for r in records:
        digest = r.image.rsplit("@", 1)[-1]
        table.add_row(r.name, r.version, r.env_hash[:12], digest[:19], str(r.created_at)[:16])
    console.print(table)
    if not records:
        console.print("no versions registered" + (f" for {name}" if name else ""))


def register(app: typer.Typer) -> None:
    """The command hangs off ``env_app``: importing this module is enough."""
