"""``mlenv image verify QUERY``: rebuild an image from its recorded
definition and lock, without any cache, and compare the bytes. A thin
adapter over ``service.verify.verify_image``.

Exit codes: 0 identical, 1 different (or the rebuild failed), 2 a definition
that cannot be read.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pulumi_mlenv.cli.build_commands import _Progress, image_app
from pulumi_mlenv.cli.main import EXIT_FAILED, err_console, user_errors
from pulumi_mlenv.cli.output import JsonOpt, emit, line
from pulumi_mlenv.config import Settings

__all__ = ["register", "verify"]


@image_app.command("verify")
def verify(
    query: Annotated[
        str, typer.Argument(help="an image reference, NAME[:VERSION], or a 64-hex hash")
    ],
    builder: Annotated[
        str | None,
        typer.Option(
            "--builder",
            help="BuildKit address to rebuild on (default: BUILDKIT_HOST), e.g. tcp://host:1234",
        ),
    ] = None,
    definition: Annotated[
        str | None,
        typer.Option(
            "--definition",
            help="the definition file, when no environment version recorded it",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rebuild an image with no cache and check that the same digest comes out.

    The rebuild uses the recorded base digest and lock (unpinned packages get
    the versions of the first build). When the digests differ, the layers,
    their steps and the paths whose content, mode, owner or time differ are
    listed. Exit code 0 only when the rebuild is identical."""
    from pulumi_mlenv.service.verify import verify_image

    with user_errors():
        settings = Settings.from_env()
        progress = _Progress()
        with progress:
            result = verify_image(
                query,
                settings=settings,
                builder=builder,
                definition_path=definition,
                progress=progress,
            )
    if as_json:
        emit(result.to_dict())
    else:
        _print(result)
    if not result.identical or result.provenance_problems:
        raise typer.Exit(EXIT_FAILED)


def _print(result: object) -> None:
    from pulumi_mlenv.service.verify import Verification

    assert isinstance(result, Verification)
    comparison = result.comparison
    out = line
    out(f"image    {result.image}")
    out(f"rebuilt  {result.rebuilt}  (on {result.builder})")
    if result.provenance is None:
        out("provenance: none attached to the image")
    elif result.provenance_problems:
        out(f"provenance: the rebuild DIFFERS from {result.provenance}")
        for problem in result.provenance_problems:
            out(f"  {problem}")
    else:
        out(f"provenance: the rebuild matches {result.provenance}")
    if comparison.identical:
        out("identical: the rebuild has the same digest")
        return
    out("DIFFERENT: the rebuild has another digest")
    for change in result.lock_changes:
        out(f"  lock: {change}")
    for layer in comparison.layers:
        out(f"layer {layer.index}: {layer.recorded} -> {layer.rebuilt}")
        out(f"  step: {layer.step}")
        if layer.reason:
            out(f"  why:  {layer.reason}")
        for path in layer.paths:
            fields = ", ".join(path.fields)
            out(f"  {path.path}  [{fields}]  {path.recorded} -> {path.rebuilt}")
        if layer.more_paths:
            out(f"  ... and {layer.more_paths} more paths")
    for diff in comparison.config:
        out(f"config {diff.field}: {diff.recorded} -> {diff.rebuilt}")
    for note in comparison.notes:
        out(f"note: {note}")
    err_console.print("see docs/reproducibility.md for how to make a step reproducible")


def register(app: typer.Typer) -> None:
    """Nothing to add: ``verify`` hangs on the ``image`` group already."""
    del app
