"""The web application behind ``mlenv ui``: read-only pages over one
workspace (Starlette routes, Jinja2 templates).

Every route is a GET (HEAD too); anything else is refused. Each request
reads the workspace anew through ``service.browse``, so a page shows what is
recorded now. Every value is escaped by the templates (definitions and logs
are untrusted); the pages carry no script, and the Content-Security-Policy
forbids any. Only ``127.0.0.1`` and ``localhost`` are accepted as the Host
(a page of another site cannot reach this one by renaming its own host).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulumi_mlenv.errors import MlenvError, redact_credentials
from pulumi_mlenv.service import browse
from pulumi_mlenv.ui import lineage, views

__all__ = ["HEADERS", "create_app", "templates"]

#: Sent with every page: no script, no frame, nothing fetched from elsewhere.
HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def templates() -> Environment:
    """The page templates; autoescape on for every one of them."""
    env = Environment(
        loader=PackageLoader("pulumi_mlenv.ui", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        seg=lambda text: quote(str(text), safe=""),
        short=views.short,
        short_ref=views.short_ref,
        when=views.when,
        size=views.human_size,
        masked=redact_credentials,
    )
    env.globals.update(duration=views.duration)
    return env


#: Version-to-version changes an environment's page works out (the newest).
CHANGES_SHOWN = 25


class _Headers:
    """Adds ``HEADERS`` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class _Pages:
    """The route handlers over one workspace."""

    def __init__(self, workspace_url: str) -> None:
        self.url = workspace_url
        self.shown_url = redact_credentials(workspace_url)
        self.env = templates()

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = self.env.get_template(template).render(workspace=self.shown_url, **context)
        return HTMLResponse(body, status_code=status)

    def snapshot(self) -> browse.Snapshot:
        return browse.read_workspace(self.url)

    def index(self, request: Request) -> Response:
        snap = self.snapshot()
        return self.page(
            "index.html",
            environments=views.environment_rows(snap),
            runs=snap.runs[:10],
            models=snap.models,
            deployments=snap.deployments,
            endpoints=snap.endpoints,
            graph=lineage.build(snap),
        )

    def environment(self, request: Request) -> Response:
        name = request.path_params["name"]
        snap = self.snapshot()
        versions = views.versions_of(snap, name)
        if not versions:
            raise HTTPException(404, f"no environment {name} in the workspace")
        # Each comparison reads both versions again: the newest ones here,
        # older ones through the compare form.
        pairs = list(pairwise(versions))
        pairs = pairs[max(0, len(pairs) - CHANGES_SHOWN) :]
        changes = {
            new.version: views.changes_of(browse.explain(old.label, new.label, self.url))
            for old, new in pairs
        }
        runs = {v.version: len(views.runs_of_version(snap, v)) for v in versions}
        return self.page(
            "environment.html", name=name, versions=versions, changes=changes, runs=runs
        )

    def version(self, request: Request) -> Response:
        name, number = request.path_params["name"], request.path_params["version"]
        snap = self.snapshot()
        versions = views.versions_of(snap, name)
        found = [v for v in versions if v.version == number]
        if not found:
            raise HTTPException(404, f"no environment version {name}:{number} in the workspace")
        version = found[0]
        at = versions.index(version)
        previous = versions[at - 1] if at else None
        changes = None
        if previous is not None:
            changes = views.changes_of(browse.explain(previous.label, version.label, self.url))
        models = [
            m
            for m in snap.models
            if (m.lineage.env_name, m.lineage.env_version) == (version.name, version.version)
        ]
        return self.page(
            "version.html",
            v=version,
            previous=previous,
            others=versions,
            changes=changes,
            lock=snap.locks.get(version.digest),
            packages=views.packages_of(version.definition),
            definition=views.definition_text(version.definition),
            variables=views.masked_variables(version.environment_variables),
            runs=views.runs_of_version(snap, version),
            models=models,
            graph=lineage.build(snap, focus=f"env:{version.label}"),
        )

    def compare(self, request: Request) -> Response:
        old, new = request.query_params.get("old", ""), request.query_params.get("new", "")
        if not old or not new:
            raise HTTPException(400, "give two versions: /compare?old=NAME:A&new=NAME:B")
        changes = views.changes_of(browse.explain(old, new, self.url))
        return self.page("compare.html", changes=changes)

    def runs(self, request: Request) -> Response:
        return self.page("runs.html", runs=self.snapshot().runs)

    def run(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        snap = self.snapshot()
        matches = [r for r in snap.runs if r.id == run_id]
        record = matches[0] if matches else browse.get_run(run_id, self.url)
        outputs, more = browse.read_outputs(record)
        return self.page(
            "run.html",
            r=record,
            log=browse.read_log(record),
            outputs=outputs,
            more_outputs=more,
            models=views.models_of_run(snap, record.id),
            graph=lineage.build(snap, focus=f"run:{record.id}"),
        )

    def models(self, request: Request) -> Response:
        return self.page("models.html", models=self.snapshot().models)

    def model(self, request: Request) -> Response:
        name, number = request.path_params["name"], request.path_params["version"]
        snap = self.snapshot()
        found = [m for m in snap.models if (m.name, m.version) == (name, number)]
        if not found:
            raise HTTPException(404, f"no model {name}:{number} in the workspace")
        model = found[0]
        runs = [r for r in snap.runs if r.id == model.lineage.run_id]
        return self.page(
            "model.html",
            m=model,
            run=runs[0] if runs else None,
            deployments=views.deployments_of_model(snap, model),
            graph=lineage.build(snap, focus=f"model:{model.label}"),
        )

    def deployments(self, request: Request) -> Response:
        snap = self.snapshot()
        traffic = {e.name: views.traffic_of(e, snap.deployments) for e in snap.endpoints}
        return self.page(
            "deployments.html",
            deployments=snap.deployments,
            endpoints=snap.endpoints,
            traffic=traffic,
        )

    def lineage(self, request: Request) -> Response:
        focus = request.query_params.get("focus") or None
        return self.page("lineage.html", graph=lineage.build(self.snapshot(), focus), focus=focus)


def create_app(workspace_url: str) -> Starlette:
    """The application over the workspace at ``workspace_url``."""
    pages = _Pages(workspace_url)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
        if status == 405:
            detail = "this page is read-only: it answers GET only"
        return pages.page("error.html", status=status, message=redact_credentials(str(detail)))

    async def product_error(request: Request, exc: Exception) -> Response:
        return pages.page("error.html", status=404, message=redact_credentials(str(exc)))

    get = ["GET"]
    routes = [
        Route("/", pages.index, methods=get),
        Route("/environments/{name}", pages.environment, methods=get),
        Route("/environments/{name}/{version}", pages.version, methods=get),
        Route("/compare", pages.compare, methods=get),
        Route("/runs", pages.runs, methods=get),
        Route("/runs/{run_id}", pages.run, methods=get),
        Route("/models", pages.models, methods=get),
        Route("/models/{name}/{version}", pages.model, methods=get),
        Route("/deployments", pages.deployments, methods=get),
        Route("/lineage", pages.lineage, methods=get),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(_Headers),
            Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"]),
        ],
        exception_handlers={HTTPException: not_found, MlenvError: product_error},
    )
