"""``mlenv image sbom|provenance QUERY``: what is in an image and how it was
made, read back from the registry where they are attached (OCI referrers).
Thin adapters over ``service.supply``; see docs/supply-chain.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pulumi_mlenv.cli.build_commands import image_app
from pulumi_mlenv.cli.main import err_console, out, user_errors
from pulumi_mlenv.cli.output import document as print_document
from pulumi_mlenv.config import Settings
from pulumi_mlenv.errors import MlenvError

__all__ = ["register"]

_QUERY_HELP = "an image reference, NAME[:VERSION], or a 64-hex hash"
KeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--key",
        help="a PEM public key: check that the document is signed by it (exit 1 if not)",
    ),
]


def _read(query: str, artifact_type: str, key: Path | None) -> tuple[str, Any]:
    from pulumi_mlenv.service.supply import show_attestation

    settings = Settings.from_env()
    image, found = show_attestation(query, artifact_type, settings=settings)
    if key is not None:
        from pulumi_mlenv.service.supply import verify_envelope

        if found.envelope is None:
            raise MlenvError(f"{found.reference} is not signed (no signing key was configured)")
        verify_envelope(found.envelope, key.read_bytes())
        err_console.print(f"signature: valid, by the key in {key}", markup=False)
    elif found.signed:
        err_console.print("signed (DSSE); check it with --key PUBLIC.pem", markup=False)
    return image, found


@image_app.command("sbom")
def sbom(
    query: Annotated[str, typer.Argument(help=_QUERY_HELP)],
    as_json: Annotated[
        bool, typer.Option("--json", help="print the CycloneDX JSON document")
    ] = False,
    key: KeyOpt = None,
) -> None:
    """Show the SBOM attached to an image: every Python distribution of its
    lock and every Debian package of its file system, with versions.

    Examples:

        mlenv image sbom train:3

        mlenv image sbom --json 127.0.0.1:5000/mlenv/env@sha256:... > train.cdx.json
    """
    from pulumi_mlenv.service.supply import SBOM_MEDIA_TYPE, sbom_rows

    with user_errors():
        image, found = _read(query, SBOM_MEDIA_TYPE, key)
        if as_json:
            print_document(found.document.decode())
            return
        document = json.loads(found.document)
        rows = sbom_rows(document)
        props = {
            p.get("name", ""): p.get("value", "")
            for p in document.get("metadata", {}).get("component", {}).get("properties", [])
        }
        out.print(f"image        {image}", markup=False)
        out.print(f"sbom         {found.reference}", markup=False)
        out.print(f"signed       {'yes (DSSE)' if found.signed else 'no'}", markup=False)
        for name in ("environment", "definition-hash", "image-hash"):
            out.print(f"{name:<12} {props.get(f'pulumi-mlenv:{name}', '-')}", markup=False)
        table = Table(box=None, show_edge=False)
        for column in ("kind", "name", "version"):
            table.add_column(column, no_wrap=True)
        for row in rows:
            table.add_row(*row)
        out.print(table)
        counts: dict[str, int] = {}
        for kind, _, _ in rows:
            counts[kind] = counts.get(kind, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        err_console.print(f"{len(rows)} components ({summary})")


@image_app.command("provenance")
def provenance(
    query: Annotated[str, typer.Argument(help=_QUERY_HELP)],
    as_json: Annotated[
        bool, typer.Option("--json", help="print the in-toto statement (SLSA provenance v1)")
    ] = False,
    key: KeyOpt = None,
) -> None:
    """Show how an image was made: builder and BuildKit version, base image
    digest, definition hash, the lock's digest, each step and its layer.

    Examples:

        mlenv image provenance train:3

        mlenv image provenance --json train:3 | jq .predicate.runDetails.builder
    """
    from pulumi_mlenv.service.supply import PROVENANCE_MEDIA_TYPE

    with user_errors():
        image, found = _read(query, PROVENANCE_MEDIA_TYPE, key)
        if as_json:
            print_document(found.document.decode())
            return
        _print_provenance(image, found, json.loads(found.document))


def _digest(entry: Any) -> str:
    """An in-toto digest map as ``algorithm:hex`` ("-" when absent)."""
    return next((f"{k}:{v}" for k, v in (entry or {}).get("digest", {}).items()), "-")


def _print_provenance(image: str, found: Any, statement: dict[str, Any]) -> None:
    """The statement as a two-column table, then its steps with their layers."""
    predicate = statement.get("predicate", {})
    build = predicate.get("buildDefinition", {})
    run = predicate.get("runDetails", {})
    params = build.get("externalParameters", {})
    deps = {d.get("name"): d for d in build.get("resolvedDependencies", [])}
    builder = run.get("builder", {})
    rows = [
        ("image", image),
        ("provenance", found.reference),
        ("signed", "yes (DSSE)" if found.signed else "no"),
        ("environment", params.get("environment") or "-"),
        ("definition hash", params.get("definitionHash") or "-"),
        ("image hash", params.get("imageHash") or "-"),
        ("base image", params.get("baseImage") or "-"),
        ("base digest", _digest(deps.get("base-image"))),
        ("lock digest", _digest(deps.get("lock"))),
        ("builder", builder.get("id", "-")),
        ("versions", ", ".join(f"{k} {v}" for k, v in builder.get("version", {}).items())),
        ("finished", run.get("metadata", {}).get("finishedOn", "-")),
    ]
    table = Table(show_header=False, box=None)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True, overflow="ignore")
    for row in rows:
        table.add_row(*row)
    out.print(table)
    steps = Table(box=None, show_edge=False, title="steps")
    steps.add_column("layer", no_wrap=True)
    steps.add_column("step", no_wrap=True, overflow="ignore")
    for item in run.get("byproducts", []):
        step = item.get("annotations", {}).get("step")
        if step is not None:
            steps.add_row(_digest(item), step[:120])
    out.print(steps)


def register(app: typer.Typer) -> None:
    """Nothing to add: these hang on the ``image`` group already."""
    del app
