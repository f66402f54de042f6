"""The ``mlenv`` command: a thin front door over the product's rooms.

Sub-commands live in ``cli/<topic>_commands.py`` modules. Each module exposes
``register(app: typer.Typer) -> None`` and is listed once in
``COMMAND_MODULES`` below: adding a topic is a one-line change here. To add a
command to an existing group (e.g. ``mlenv env build``), decorate it on that
group's Typer object (``env_commands.env_app``) from your own module.

Results: print them through ``cli.output`` (``emit`` for ``--json``,
``line``, ``table``), the one stdout printer, so every command has the same
``--json`` shape (docs/cli.md).

Errors: wrap a command body in ``with user_errors():`` so that a bad definition
prints its problems on stderr and exits 2, and other product errors exit 1,
without a traceback.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from pulumi_mlenv.cli.output import out
from pulumi_mlenv.errors import DefinitionWarning, MlenvError, SpecError

__all__ = ["COMMAND_MODULES", "app", "err_console", "main", "out", "user_errors"]

#: Modules whose ``register(app)`` adds sub-commands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "pulumi_mlenv.cli.env_commands",
    "pulumi_mlenv.cli.build_commands",
    "pulumi_mlenv.cli.verify_commands",
    "pulumi_mlenv.cli.supply_commands",
    "pulumi_mlenv.cli.bundle_commands",
    "pulumi_mlenv.cli.workspace_commands",
    "pulumi_mlenv.cli.model_commands",
    "pulumi_mlenv.cli.deploy_commands",
    "pulumi_mlenv.cli.gc_commands",
    "pulumi_mlenv.cli.run_commands",
    "pulumi_mlenv.cli.ui_commands",
)

app = typer.Typer(
    name="mlenv",
    help=(
        "Machine-learning environments as code.\n\n"
        "An environment definition (our YAML, a conda environment.yml, a requirements.txt, "
        "an Azure ML v1/v2 environment, or an MLflow python_env.yaml or model folder) "
        "hashes to one image: the same hash reuses the "
        "image, a new hash builds a new one.\n\n"
        "Start with:  mlenv env hash environment.yml"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Problems and progress go to stderr, so stdout stays parseable (hashes,
#: image references, converted files, --json); results go through
#: ``cli.output`` (``out``, ``emit``: one printer, one --json shape).
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


EXIT_INVALID = 2
EXIT_FAILED = 1


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn product errors into a message on stderr and an exit code:
    2 for an invalid definition (``SpecError``), 1 for anything else of ours.
    Definition warnings (a line given twice) are printed on stderr too."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DefinitionWarning)
            try:
                yield
            finally:
                for warning in caught:
                    if issubclass(warning.category, DefinitionWarning):
                        err_console.print(f"warning: {warning.message}", markup=False)
                    else:
                        warnings.warn_explicit(
                            warning.message, warning.category, warning.filename, warning.lineno
                        )
    except SpecError as err:
        count = len(err.problems)
        heading = getattr(err, "heading", "invalid definition")
        err_console.print(f"error: {heading} ({count} problem{'s' * (count != 1)}):", markup=False)
        for problem in err.problems:
            err_console.print(f"  {problem}", markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    except MlenvError as err:
        err_console.print(f"error: {err}", markup=False)
        raise typer.Exit(EXIT_FAILED) from None


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


if __name__ == "__main__":
    # ``python -m pulumi_mlenv.cli.main``: this file runs as ``__main__``, and
    # the command modules import it under its own name; run that one (by
    # name: the launcher imports this module, so naming it here would make
    # the two import each other).
    importlib.import_module("pulumi_mlenv.cli.main").main()
else:
    _register_all()


def main() -> None:
    """Entry point of the ``mlenv`` console script (and ``python -m pulumi_mlenv``)."""
    app(prog_name="mlenv")
