"""``mlenv deployment list|create|delete`` and ``mlenv endpoint
list|create|delete|traffic|invoke``: what is served, from the workspace
(``MLENV_WORKSPACE``). Creating, deleting and changing traffic go through
the same service calls as the Deployment and Endpoint resources, so a
Pulumi program managing the same endpoint sees the change as drift."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from pulumi_mlenv.cli.main import EXIT_FAILED, err_console, user_errors
from pulumi_mlenv.cli.output import JsonOpt, emit, line, out
from pulumi_mlenv.config import Settings

if TYPE_CHECKING:
    from pulumi_mlenv.service.deployments import Deployed

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
        emit([_endpoint_json(r) for r in records])
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
    name: EndpointNameArg,
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


def _endpoint_json(r: Any) -> dict[str, Any]:
    return {
        "name": r.name,
        "scoring_uri": r.scoring_uri,
        "deployments": [{"name": n, "address": a, "weight": w} for n, a, w in r.backends],
    }


def _show_endpoint(record: Any, as_json: bool) -> None:
    if as_json:
        emit(_endpoint_json(record))
        return
    total = sum(w for _, _, w in record.backends) or 1
    shares = ", ".join(f"{n} {100 * w / total:.0f}%" for n, _, w in record.backends)
    line(f"{record.name}: {record.scoring_uri} ({shares})")


WeightsArg = Annotated[
    list[str],
    typer.Argument(help="DEPLOYMENT=WEIGHT pairs, e.g. blue=90 green=10.", show_default=False),
]
EndpointNameArg = Annotated[str, typer.Argument(help="Endpoint name.", show_default=False)]
#: ``endpoint create`` and ``deployment create`` take the same ``--port``.
PortOpt = Annotated[int | None, typer.Option("--port", help="A fixed port (default: a free one).")]


def _change_weights(
    change: Callable[..., Any],
    name: str,
    weights: list[str],
    heading: str,
    as_json: bool,
    **options: Any,
) -> None:
    """``endpoint create`` and ``endpoint traffic``: read the NAME=WEIGHT
    pairs, apply them with ``change`` and show the endpoint as it is now."""
    from pulumi_mlenv.service.serving_changes import parse_weights

    settings = Settings.from_env()
    with user_errors():
        record = change(
            name,
            parse_weights(weights, heading=heading),
            settings=settings,
            workspace_url=settings.workspace_url,
            **options,
        )
    _show_endpoint(record, as_json)


@endpoint_app.command("create")
def endpoint_create(
    name: EndpointNameArg,
    weights: WeightsArg,
    port: PortOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Put an endpoint (a stable address, HAProxy) in front of deployments
    with traffic weights, as the Endpoint resource does.

    Example:

        mlenv endpoint create scoring blue=100
    """
    from pulumi_mlenv.service.serving_changes import create_endpoint

    _change_weights(
        create_endpoint, name, weights, "cannot create the endpoint", as_json, port=port
    )


@endpoint_app.command("traffic")
def endpoint_traffic(
    name: EndpointNameArg,
    weights: WeightsArg,
    as_json: JsonOpt = False,
) -> None:
    """Set traffic weights: the proxy reloads gracefully, no deployment
    restarts. Deployments not named keep their weight; a recorded
    deployment not behind the endpoint yet is added. A Pulumi program that
    manages this endpoint shows the change in its next preview.

    Example:

        mlenv endpoint traffic scoring blue=90 green=10
    """
    from pulumi_mlenv.service.serving_changes import set_traffic

    _change_weights(set_traffic, name, weights, "cannot change the traffic", as_json)


@endpoint_app.command("delete")
def endpoint_delete(
    name: EndpointNameArg,
    as_json: JsonOpt = False,
) -> None:
    """Stop an endpoint's proxy and forget it (its port is free again);
    the deployments behind it keep running."""
    from pulumi_mlenv.service import endpoints

    with user_errors():
        removed = endpoints.remove_endpoint(name, workspace_url=Settings.from_env().workspace_url)
    if not removed:
        err_console.print(f"error: no endpoint {name} in the workspace", markup=False)
        raise typer.Exit(EXIT_FAILED)
    if as_json:
        emit({"name": name, "deleted": True})
    else:
        line(f"deleted endpoint {name}")


#: ``deployment create``'s required options.
_ModelOpt = Annotated[
    str,
    typer.Option("--model", "-m", help="NAME:VERSION of a registered model.", show_default=False),
]
_EnvironmentOpt = Annotated[
    str,
    typer.Option(
        "--environment", "-e", help="NAME:VERSION of an environment version.", show_default=False
    ),
]
_EntryScriptOpt = Annotated[
    Path,
    typer.Option(
        "--entry-script", help="Scoring script with init() and run(raw_data).", show_default=False
    ),
]
_SourceOpt = Annotated[
    Path | None,
    typer.Option("--source", help="Folder of the scoring code (holds the entry script)."),
]


@deployment_app.command("create")
def deployment_create(
    name: Annotated[str, typer.Argument(help="Deployment name.", show_default=False)],
    model: _ModelOpt,
    environment: _EnvironmentOpt,
    entry_script: _EntryScriptOpt,
    source: _SourceOpt = None,
    compute: Annotated[
        str | None, typer.Option("--compute", help="Docker engine URL (default: DOCKER_HOST).")
    ] = None,
    port: PortOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait until it is live.")
    ] = 120.0,
    as_json: JsonOpt = False,
) -> None:
    """Serve a model from its environment as a web service (the Azure ML
    inference server), as the Deployment resource does; prints its address
    once it is live.

    Example:

        mlenv deployment create blue --model iris:1 --environment sklearn:1 --entry-script score.py
    """
    from pulumi_mlenv.service.deployments import DeploymentSpec
    from pulumi_mlenv.service.serving_changes import create_deployment

    settings = Settings.from_env()
    script = source / entry_script if source and not entry_script.is_absolute() else entry_script
    spec = DeploymentSpec(
        name=name,
        model=model,
        environment=environment,
        entry_script=str(script.resolve()),
        source=str(source.resolve()) if source else None,
        compute_url=compute or settings.docker_host,
        timeout=timeout,
        port=port,
    )
    with user_errors():
        done = create_deployment(spec, settings=settings, workspace_url=settings.workspace_url)
    _print_deployed(done, as_json)


def _print_deployed(done: Deployed, as_json: bool) -> None:
    """A created deployment: its address and status (``--json``: an object)."""
    if as_json:
        emit(
            {
                "name": done.name,
                "instance": done.instance,
                "scoring_uri": done.scoring_uri,
                "image": done.image,
                "status": done.status,
                "built": done.built,
            }
        )
    else:
        line(f"{done.name}: {done.scoring_uri} ({done.status})")


@deployment_app.command("delete")
def deployment_delete(
    name: Annotated[str, typer.Argument(help="Deployment name.", show_default=False)],
    as_json: JsonOpt = False,
) -> None:
    """Stop a deployment's container and forget it (its port is free again).
    An endpoint in front of it keeps its other deployments."""
    from pulumi_mlenv.service.serving_changes import delete_deployment

    with user_errors():
        records = delete_deployment(name, workspace_url=Settings.from_env().workspace_url)
    if as_json:
        emit({"name": name, "deleted": [r.instance for r in records]})
    else:
        line(f"deleted deployment {name}")
