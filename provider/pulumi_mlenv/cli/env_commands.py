"""``mlenv env ...`` and ``mlenv curated ...``: definitions, their hash, their
differences, conversions, and the curated catalog. Thin over ``definition``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml

from pulumi_mlenv import definition as specs
from pulumi_mlenv.cli.main import err_console, user_errors
from pulumi_mlenv.cli.output import JsonOpt, emit, line, table

if TYPE_CHECKING:
    from pulumi_mlenv import definition as specs

__all__ = ["RootOpt", "curated_app", "env_app", "register"]

env_app = typer.Typer(
    help=(
        "Environment definitions: hash, validate, compare, convert.\n\n"
        "PATH is a file or folder in any supported format, detected automatically: "
        "our YAML (mlenv.yml), conda environment.yml, requirements.txt (with -r includes), "
        "an Azure ML v2 environment YAML, an Azure ML v1 folder "
        "(azureml_environment.json + conda_dependencies.yml), or an MLflow python_env.yaml "
        "or model folder (MLmodel + python_env.yaml or conda.yaml)."
    ),
    no_args_is_help=True,
)
curated_app = typer.Typer(
    help=(
        "The curated catalog: ready-made, pinned environments whose images are prebuilt.\n\n"
        "A definition is curated only if it hashes like a catalog entry; any change makes it "
        "a new, non-curated environment."
    ),
    no_args_is_help=True,
)

PathArg = Annotated[
    Path, typer.Argument(help="Definition file or folder (format detected).", show_default=False)
]
RootOpt = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="Folder the definition may read files from (-r includes, conda_file, "
        "Dockerfile). Default: the definition's own folder; files outside it are refused.",
        show_default=False,
    ),
]


class Target(StrEnum):
    """Formats ``convert`` writes to stdout."""

    MLENV = "mlenv"
    CONDA = "conda"
    AZUREML_V2 = "azureml-v2"
    MLFLOW = "mlflow"


def register(app: typer.Typer) -> None:
    """Add the ``env`` and ``curated`` groups to the ``mlenv`` app."""
    app.add_typer(env_app, name="env")
    app.add_typer(curated_app, name="curated")


@env_app.command("hash")
def hash_command(
    path: PathArg,
    digest: Annotated[
        str | None,
        typer.Option(
            "--base-digest",
            help="Digest the base image tag resolved to (sha256:...): gives the image hash.",
        ),
    ] = None,
    resolve: Annotated[
        bool,
        typer.Option(
            "--resolve",
            help="Resolve the base image tag (or the default base image, MLENV_BASE_IMAGE) "
            "in its registry first, for the image hash that `pulumi preview` and "
            "`mlenv env build` use.",
        ),
    ] = False,
    as_json: JsonOpt = False,
    root: RootOpt = None,
) -> None:
    """Print the definition's hashes; the last line is the hash alone.

    Two hashes, two names. The definition hash covers the definition as
    written (a base image tag is text). The image hash adds the digest the
    base tag resolves to (--resolve, or --base-digest): it names the image
    (`mlenv image details HASH`) and is the Pulumi resource's `hash`. The
    last line is the image hash when it is known, else the definition hash.

    Same hash, same image: renaming, re-versioning or re-describing an
    environment keeps it; changing a package, its version, the order of
    packages or channels, the base image, Docker steps or Spark packages
    changes it. Unpinned packages are listed on stderr: the first build's versions of
    them are kept in its lock.

    Examples:

        mlenv env hash environment.yml

        mlenv env hash ./my-env-folder | tail -1

        mlenv env hash --resolve environment.yml   # as the Pulumi provider hashes it

        mlenv env hash --resolve --json environment.yml | jq -r .image_hash
    """
    from pulumi_mlenv import definition as specs

    with user_errors():
        written = specs.load_definition(path, root=root)
        definition_hash = specs.compute_hash(written)
        spec = specs.with_resolved_base(written, digest)
        if resolve and digest is None:
            from pulumi_mlenv.config import Settings
            from pulumi_mlenv.service.environments import resolve as resolve_base

            spec = resolve_base(spec, Settings.from_env()).spec
        image_hash = specs.compute_hash(spec) if spec.docker.resolved_base_digest else None
        _warn_unpinned(spec)
        _print_hashes(path, spec, definition_hash, image_hash, as_json)


def _print_hashes(
    path: Path,
    spec: specs.EnvironmentSpec,
    definition_hash: str,
    image_hash: str | None,
    as_json: bool,
) -> None:
    """What ``env hash`` prints: a JSON object, or lines ending with the hash alone."""
    fmt = specs.detect_format(path)
    curated = specs.curated_name(spec)
    if as_json:
        emit(
            {
                "name": spec.name,
                "format": fmt.value,
                "kind": spec.kind.value,
                "curated": curated,
                "definition_hash": definition_hash,
                "image_hash": image_hash,
                "base_digest": spec.docker.resolved_base_digest,
                "unpinned": specs.unpinned_packages(spec),
            }
        )
        return
    note = f", curated as {curated}" if curated else ""
    line(f"{spec.name} ({fmt.value}, {spec.kind.value}{note})")
    line(f"definition hash: {definition_hash}")
    if image_hash:
        line(f"image hash:      {image_hash}")
    line(image_hash or definition_hash)


def _warn_unpinned(spec: specs.EnvironmentSpec) -> None:
    from pulumi_mlenv import definition as specs

    loose = specs.unpinned_packages(spec)
    if loose:
        err_console.print(
            "warning: not pinned to one version (the first build's versions will be kept): "
            + ", ".join(loose),
            markup=False,
        )


@env_app.command("validate")
def validate_command(path: PathArg, root: RootOpt = None, as_json: JsonOpt = False) -> None:
    """Check a definition: exit 0 when valid, or 2 with every problem on stderr.

    Each problem names the field (python.conda.dependencies[3].pip[0]) and
    the fix ("did you mean 'numpy==1.26.4'?"). With --json, a valid
    definition prints {"valid": true, ...}; an invalid one prints nothing
    on stdout (the problems on stderr, exit 2).

    Example:

        mlenv env validate environment.yml && echo ok
    """
    from pulumi_mlenv import definition as specs

    with user_errors():
        spec = specs.load_definition(path, root=root)
        conda = spec.python.conda
        count = len(conda.dependencies) + len(conda.pip) if conda else 0
        fmt = specs.detect_format(path).value
        if as_json:
            emit(
                {
                    "valid": True,
                    "name": spec.name,
                    "format": fmt,
                    "kind": spec.kind.value,
                    "packages": count,
                    "unpinned": specs.unpinned_packages(spec),
                }
            )
        else:
            line(f"valid: {spec.name} ({fmt}, {spec.kind.value}, {count} packages)")
        _warn_unpinned(spec)


@env_app.command("explain")
def explain_command(
    old: Annotated[
        Path, typer.Argument(help="The definition as it was, or NAME:VERSION.", show_default=False)
    ],
    new: Annotated[
        Path, typer.Argument(help="The definition now, or NAME:VERSION.", show_default=False)
    ],
    root: RootOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Say why two definitions hash differently, one reason per line.

    Two definitions that share a hash (the same image) say so in one line.
    The two files may be in different formats. Two registered versions
    (NAME:VERSION, archived ones too) also get what their images installed
    differently.

    Example:

        mlenv env explain old/environment.yml environment.yml

        pip: numpy==1.26.4 -> numpy==2.1.0
        conda channels: order changed

        mlenv env explain train:1 train:2

        pip: numpy==2.1.3 -> numpy==2.2.0
        installed: numpy 2.1.3 -> 2.2.0

        mlenv env explain --json a.yml b.yml | jq .same_hash
    """
    if is_version_label(str(old)) and is_version_label(str(new)):
        explain_versions(str(old), str(new), as_json)
        return
    from pulumi_mlenv import definition as specs

    with user_errors():
        before = specs.load_definition(old, root=root)
        after = specs.load_definition(new, root=root)
        reasons = specs.explain(before, after)
        hashes = specs.compute_hash(before), specs.compute_hash(after)
    same = hashes[0] == hashes[1]
    if as_json:
        emit(
            {
                "old": str(old),
                "new": str(new),
                "old_hash": hashes[0],
                "new_hash": hashes[1],
                "same_hash": same,
                "reasons": list(reasons),
            }
        )
        return
    for reason in reasons:
        line(reason)
    if same and not reasons:
        line(f"same hash {hashes[0][:12]}: the same image, nothing to rebuild")


def is_version_label(text: str) -> bool:
    """``NAME:VERSION`` that is not an existing file (``explain`` takes both)."""
    name, sep, version = text.rpartition(":")
    return bool(sep and name and version and "/" not in text and not Path(text).exists())


def explain_versions(old: str, new: str, as_json: bool = False) -> None:
    """Print why two registered versions differ: definition, then installed packages."""
    from pulumi_mlenv.config import Settings
    from pulumi_mlenv.service.history import explain_versions as explain

    with user_errors():
        difference = explain(old, new, Settings.from_env().workspace_url)
    if as_json:
        emit(
            {
                "old": difference.old,
                "new": difference.new,
                "same_hash": difference.same_hash,
                "reasons": list(difference.definition),
                "installed": list(difference.lock),
                "installed_known": difference.lock_known,
            }
        )
        return
    for text in difference.lines():
        line(text)


@env_app.command("convert")
def convert_command(
    path: PathArg,
    to: Annotated[Target, typer.Option("--to", help="Format to write to stdout.")] = Target.MLENV,
    root: RootOpt = None,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="Write the part the target format can carry, and list on stderr what is "
            "left out (the result then hashes differently).",
        ),
    ] = False,
) -> None:
    """Write a definition in another format to stdout, with the same hash.

    Refuses (exit 2) when the target format cannot carry part of what is
    hashed, e.g. Docker steps in a conda file, and says what would be lost;
    --partial writes the rest anyway.

    Examples:

        mlenv env convert environment.yml --to mlenv > mlenv.yml

        mlenv env convert requirements.txt --to azureml-v2 > env.yml

        mlenv env convert ./azureml-v1-folder --to conda --partial > environment.yml
    """
    from pulumi_mlenv import definition as specs

    with user_errors():
        spec = specs.load_definition(path, root=root)
        text = specs.dump_definition(spec, to.value, partial=partial)
        if partial:
            for item in specs.left_out(spec, to.value):
                err_console.print(f"left out: {item}", markup=False)
        typer.echo(text, nl=False)


def _curated_json(entry: specs.EnvironmentSpec) -> dict[str, object]:
    conda = entry.python.conda
    return {
        "name": entry.name,
        "python": specs.python_version(entry),
        "packages": list(conda.pip) if conda else [],
        "hash": specs.compute_hash(entry),
        "definition": specs.to_dict(entry),
    }


@curated_app.command("list")
def list_command(as_json: JsonOpt = False) -> None:
    """Show the curated catalog as a table: name, Python, pip packages, hash.

    Example:

        mlenv curated list

        mlenv curated list --json | jq -r '.[].name'
    """
    entries = specs.catalog()
    if as_json:
        emit([_curated_json(entry) for entry in entries])
        return
    rows = []
    for entry in entries:
        conda = entry.python.conda
        packages = ", ".join(p.split("==")[0] for p in conda.pip) if conda else ""
        version = specs.python_version(entry) or ""
        rows.append((entry.name, version, packages, specs.compute_hash(entry)[:12]))
    table(("name", "python", "packages", "hash"), rows, title="Curated environments")


@curated_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="Catalog name; the prefix may be left out.")],
    as_json: JsonOpt = False,
) -> None:
    """Print one curated definition as our YAML (a start for your own).

    Example:

        mlenv curated show sklearn > mlenv.yml

        mlenv curated show sklearn --json | jq .hash
    """

    from pulumi_mlenv import definition as specs

    with user_errors():
        entry = specs.get_curated(name)
    if as_json:
        emit(_curated_json(entry))
        return
    typer.echo(yaml.safe_dump(specs.to_dict(entry), sort_keys=False), nl=False)
