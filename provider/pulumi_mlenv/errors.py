"""The one error family of pulumi-mlenv.

Every error a user can meet is an ``MlenvError``. Input errors (``SpecError``)
carry each problem with its field path and the fix, so that the CLI prints them
and the Pulumi provider turns them into per-property check failures.
I/O errors wrap their cause with a short step prefix ("pushing image: ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "INVALID_DEFINITION",
    "RUN_HEADING",
    "URL_USERINFO",
    "BuildError",
    "DefinitionWarning",
    "EngineError",
    "MlenvError",
    "Problem",
    "RegistryError",
    "SpecError",
    "redact_credentials",
    "warn_problems",
]

#: ``user:token@`` right after ``scheme://``. Anchored on the literal ``://``
#: (never on the scheme, whose run of letters made the old pattern try every
#: start position: quadratic, minutes on 1 MB of text), so one pass is linear.
URL_USERINFO = re.compile(r"(?<=[A-Za-z0-9+.-])://[^/@\s]+@")


def redact_credentials(text: str) -> str:
    """``https://user:token@host`` -> ``https://***@host``: for messages."""
    return URL_USERINFO.sub("://***@", text) if "://" in text else text


class MlenvError(Exception):
    """Base class of every error pulumi-mlenv raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a definition.

    ``path`` is the field path in our YAML names (``python.conda.dependencies[3].pip[0]``);
    ``fix`` says what to write instead, or is empty when there is nothing obvious to suggest.
    """

    path: str
    message: str
    fix: str = ""

    def __post_init__(self) -> None:
        # Messages quote what the user wrote; credentials in URLs never reach
        # a message, a log or a check failure, whoever builds the problem.
        for name in ("path", "message", "fix"):
            object.__setattr__(self, name, redact_credentials(getattr(self, name)))

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        fix = f"; {self.fix}" if self.fix else ""
        return f"{where}{self.message}{fix}"


#: What the CLI says above the problems of a ``SpecError``, unless told otherwise.
INVALID_DEFINITION = "invalid definition"
#: ... above a run's inputs that are wrong (script, source, target, environment).
RUN_HEADING = "cannot start the run"


class SpecError(MlenvError, ValueError):
    """An input is invalid: a definition, or what a command was given (a
    script, a folder, a target). Holds every problem found, not just the
    first. ``heading`` is what the CLI says above them ("invalid definition",
    "cannot start the run", ...)."""

    def __init__(
        self, problems: list[Problem] | Problem, *, heading: str = INVALID_DEFINITION
    ) -> None:
        self.problems: tuple[Problem, ...] = (
            (problems,) if isinstance(problems, Problem) else tuple(problems)
        )
        self.heading = heading
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def at(
        cls, path: str, message: str, fix: str = "", *, heading: str = INVALID_DEFINITION
    ) -> SpecError:
        """Shorthand for an error with a single problem."""
        return cls(Problem(path, message, fix), heading=heading)


class DefinitionWarning(UserWarning):
    """Something in a definition that is not wrong but worth a look (a line
    given twice). Issued with ``warnings.warn``; the CLI prints each on stderr."""


def warn_problems(problems: list[Problem]) -> None:
    """Issue each problem as a ``DefinitionWarning`` (its text names the place)."""
    import warnings

    for problem in problems:
        warnings.warn(str(problem), DefinitionWarning, stacklevel=3)


class RegistryError(MlenvError):
    """A registry could not answer (unreachable, refused, unauthorised)."""


class EngineError(MlenvError):
    """A Docker engine or BuildKit daemon could not be reached or failed."""


class BuildError(MlenvError):
    """An image build failed. ``log_tail`` holds the end of the build log and
    ``failed_package`` the package an installer could not install, when known."""

    def __init__(self, message: str, log_tail: str = "", failed_package: str | None = None) -> None:
        self.log_tail = log_tail
        self.failed_package = failed_package
        text = message
        if failed_package:
            text += f" (package: {failed_package})"
        if log_tail:
            text += "\n--- end of build log ---\n" + log_tail
        super().__init__(text)
