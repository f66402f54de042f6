"""``mlenv bundle export|import``: carry environment versions (images,
SBOMs, provenance, definitions and locks) to a site without a network, as
one OCI image layout tar. Thin adapters over ``service.bundles``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from pulumi_mlenv.cli.main import err_console, out, user_errors
from pulumi_mlenv.cli.output import emit
from pulumi_mlenv.config import Settings

__all__ = ["bundle_app", "register"]

bundle_app = typer.Typer(
    name="bundle", help="Air-gapped bundles: environment versions in one OCI layout tar."
)


@bundle_app.command("export")
def export(
    versions: Annotated[list[str], typer.Argument(help="NAME:VERSION (or NAME: the latest)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="the bundle file to write")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Write the images of environment versions, with their SBOMs,
    provenance, definitions and locks, to one tar (an OCI image layout).

    Example:

        mlenv bundle export train:3 serve:1 -o envs.tar
    """
    from pulumi_mlenv.service.bundles import export_bundle

    with user_errors():
        entries = export_bundle(versions, output, settings=Settings.from_env())
        _show(entries, as_json, f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB)")


@bundle_app.command("import")
def import_(
    bundle: Annotated[Path, typer.Argument(help="a bundle made by mlenv bundle export")],
    registry: Annotated[
        str | None, typer.Option("--registry", help="registry to load into (MLENV_REGISTRY)")
    ] = None,
    workspace: Annotated[
        str | None, typer.Option("--workspace", help="workspace URL to register in")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Load a bundle into a registry and a workspace: the same version
    numbers, hashes and digests as where it was exported; nothing is built
    or downloaded from anywhere else.

    Example:

        mlenv bundle import envs.tar --registry registry.internal:5000 \\
            --workspace postgresql+psycopg://mlenv@db/mlenv
    """
    from pulumi_mlenv.service.bundles import import_bundle

    with user_errors():
        settings = Settings.from_env()
        settings = replace(
            settings,
            registry=registry or settings.registry,
            workspace_url=workspace or settings.workspace_url,
        )
        entries = import_bundle(bundle, settings=settings)
        _show(entries, as_json, f"loaded into {settings.registry}")


def _show(entries: Sequence[object], as_json: bool, summary: str) -> None:
    from pulumi_mlenv.service.bundles import BundleEntry

    rows = [e for e in entries if isinstance(e, BundleEntry)]
    if as_json:
        emit(
            {
                "versions": [
                    {
                        "name": e.name,
                        "version": e.version,
                        "hash": e.env_hash,
                        "digest": e.digest,
                        "image": e.image,
                        "referrers": e.referrers,
                    }
                    for e in rows
                ]
            }
        )
    else:
        for e in rows:
            out.print(f"{e.name}:{e.version}  {e.image}  ({e.referrers} attached)", markup=False)
    err_console.print(summary, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``mlenv bundle``."""
    app.add_typer(bundle_app, name="bundle")
