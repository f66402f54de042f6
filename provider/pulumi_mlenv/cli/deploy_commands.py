"""``mlenv endpoint list|invoke`` and ``mlenv deployment list``: what is
being served, from the workspace (``MLENV_WORKSPACE``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pulumi_mlenv.cli.main import EXIT_FAILED, err_console, user_errors
from pulumi_mlenv.cli.output import JsonOpt, emit, out
from pulumi_mlenv.config import Settings

__all__ = ["deployment_app", "endpoint_app", "register"]

endpoint_app = typer.Typer(
    help="Endpoints: stable scoring addresses with traffic weights over deployments.",
    no_args_is_help=True,
)
deployment_app = typer.Typer(
    help="Deployments: models served as web services from their environment.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``endpoint`` and ``deployment`` groups to the ``mlenv`` app."""
    app.add_typer(endpoint_app, name="endpoint")
    app.add_typer(deployment_app, name="deployment")


@endpoint_app.command("list")
def endpoint_list(as_json: JsonOpt = False) -> None:
    """List endpoints: address, and the deployments behind each with their weights."""
    from pulumi_mlenv.service import endpoints

    with user_errors():
        records = endpoints.list_endpoints(workspace_url=Settings.from_env().workspace_url)
    if as_json:
        rows = [
            {
                "name": r.name,
                "scoring_uri": r.scoring_uri,
                "deployments": [{"name": n, "address": a, "weight": w} for n, a, w in r.backends],
            }
            for r in records
        ]
        emit(rows)
        return
    table = Table(title="Endpoints")
    for column in ("name", "scoring uri", "traffic"):
        table.add_column(column, no_wrap=True)
    for r in records:
        total = sum(w for _, _, w in r.backends) or 1
        traffic = ", ".join(f"{n} {100 * w / total:.0f}%" for n, _, w in r.backends)
        table.add_row(r.name, r.scoring_uri, traffic)
    out.print(table)
    if not records:
        out.print("no endpoints")


@endpoint_app.command("invoke")
def endpoint_invoke(
    name: Annotated[str, typer.Argument(help="Endpoint name.", show_default=False)],
    data: Annotated[
        Path,
        typer.Option(
            "--data", "-d", help="JSON request body file ('-': stdin).", show_default=False
        ),
    ],
) -> None:
    """POST the request body to the endpoint's /score and print the answer.

    Examples:

        mlenv endpoint invoke scoring --data request.json
    """
    from pulumi_mlenv.service import endpoints

    body = sys.stdin.buffer.read() if str(data) == "-" else None
    with user_errors():
        if body is None:
            if not data.is_file():
                err_console.print(f"error: --data: no file at {data}")
                raise typer.Exit(EXIT_FAILED)
            body = data.read_bytes()
        status, text = endpoints.invoke(name, body, workspace_url=Settings.from_env().workspace_url)
    out.print(text, markup=False)
    if status >= 400:
        err_console.print(f"error: the endpoint answered HTTP {status}")
        raise typer.Exit(EXIT_FAILED)


@deployment_app.command("list")
def deployment_list(as_json: JsonOpt = False) -> None:
    """List running deployments: model, environment, address and status."""
    from pulumi_mlenv.service.deployments import list_deployments

    with user_errors():
        records = list_deployments(Settings.from_env().workspace_url)
    if as_json:
        rows = [
            {
                "name": r.name,
                "instance": r.instance,
                "model": f"{r.model_name}:{r.model_version}",
                "environment": f"{r.env_name}:{r.env_version}",
                "image": r.image,
                "scoring_uri": r.scoring_uri,
                "status": r.status,
            }
            for r in records
        ]
        emit(rows)
        return
    table = Table(title="Deployments")
    for column in ("name", "model", "environment", "scoring uri", "status"):
        table.add_column(column, no_wrap=True)
    for r in records:
        table.add_row(
            r.name,
            f"{r.model_name}:{r.model_version}",
            f"{r.env_name}:{r.env_version}",
            r.scoring_uri,
            r.status,
        )
    out.print(table)
    if not records:
        out.print("no deployments")
