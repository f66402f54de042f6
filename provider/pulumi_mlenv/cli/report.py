"""Product errors as the command line reports them, without typer: lines
on stderr and an exit code (2 for an invalid definition, 1 for any other
error of ours). ``cli.main.user_errors`` (every typer command) and the
console script's quick paths (``cli/launch.py``) both report through here.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pulumi_mlenv.errors import DefinitionWarning, MlenvError, SpecError

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "Failed", "reported_errors", "say"]

EXIT_INVALID = 2
EXIT_FAILED = 1


def say(text: str) -> None:
    """One line on stderr, as written."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class Failed(Exception):
    """A product error already reported; exit with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@contextmanager
def reported_errors(show: Callable[[str], None] = say) -> Iterator[None]:
    """Product errors become lines on stderr and ``Failed``: 2 for an
    invalid definition (``SpecError``), 1 for anything else of ours.
    Definition warnings (a line given twice) are printed on stderr too."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DefinitionWarning)
            try:
                yield
            finally:
                for warning in caught:
                    if issubclass(warning.category, DefinitionWarning):
                        show(f"warning: {warning.message}")
                    else:
                        warnings.warn_explicit(
                            warning.message, warning.category, warning.filename, warning.lineno
                        )
    except SpecError as err:
        count = len(err.problems)
        heading = getattr(err, "heading", "invalid definition")
        show(f"error: {heading} ({count} problem{'s' * (count != 1)}):")
        for problem in err.problems:
            show(f"  {problem}")
        raise Failed(EXIT_INVALID) from None
    except MlenvError as err:
        show(f"error: {err}")
        raise Failed(EXIT_FAILED) from None
