"""The one error family of pulumi-mlenv.

Every error a user can meet is an ``MlenvError``. Input errors (``SpecError``)
carry each problem with its field path and the fix, so that the CLI prints them
and the Pulumi provider turns them into per-property check failures.
I/O errors wrap their cause with a short step prefix ("pushing image: ...").
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BuildError",
    "DefinitionWarning",
    "EngineError",
    "MlenvError",
    "Problem",
    "RegistryError",
    "SpecError",
    "warn_problems",
]


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

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        fix = f"; {self.fix}" if self.fix else ""
        return f"{where}{self.message}{fix}"


class SpecError(MlenvError, ValueError):
    """A definition is invalid. Holds every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | Problem) -> None:
        self.problems: tuple[Problem, ...] = (
            (problems,) if isinstance(problems, Problem) else tuple(problems)
        )
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, path: str, message: str, fix: str = "") -> SpecError:
        """Shorthand for an error with a single problem."""
        return cls(Problem(path, message, fix))


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
