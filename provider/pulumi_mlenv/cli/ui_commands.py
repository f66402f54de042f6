"""``mlenv ui``: read-only web pages over the workspace, on 127.0.0.1."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pulumi_mlenv.cli.main import err_console, user_errors
from pulumi_mlenv.cli.output import line
from pulumi_mlenv.config import Settings

__all__ = ["register", "workspace_url_of"]


def workspace_url_of(given: str | None) -> str:
    """``--workspace`` as a URL (a plain path is a SQLite file), else the
    settings' workspace (``MLENV_WORKSPACE``)."""
    if not given:
        return Settings.from_env().workspace_url
    if "://" in given:
        return given
    return f"sqlite:///{Path(given).expanduser().resolve()}"


def ui_command(
    port: Annotated[
        int, typer.Option("--port", "-p", help="Port on 127.0.0.1 (0: one the system gives).")
    ] = 0,
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace URL or SQLite file (default: MLENV_WORKSPACE, the one the CLI uses).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve read-only pages over the workspace until Ctrl-C.

    Environments with their versions and what changed between them, runs
    with status, logs and outputs, models with their lineage, deployments
    and endpoints with their traffic weights, and the lineage picture. Only
    this machine can open them (127.0.0.1). The address is printed on stdout.

    Examples:

        mlenv ui

        mlenv ui --port 8470 --workspace .state/workspace.db
    """
    from pulumi_mlenv.ui import Served, serve

    def ready(served: Served) -> None:
        line(served.url)
        err_console.print(f"serving the workspace at {served.url} (Ctrl-C stops)", markup=False)

    with user_errors():
        serve(workspace_url_of(workspace), port, ready=ready)
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add ``mlenv ui``."""
    app.command("ui")(ui_command)
