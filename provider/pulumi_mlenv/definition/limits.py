"""The caps that keep reading a definition linear in time and bounded in memory.

A definition is untrusted input: teams run ``pulumi preview`` on pull
requests, so a file may be written to make the reader hang, eat memory or
crash. Every cap below is a named constant with a message that names the file
or field and the cap; ``docs/limits.md`` lists them. Real definitions stay
far below each one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pulumi_mlenv.errors import Problem, SpecError

__all__ = [
    "MAX_DEPTH",
    "MAX_DIFF_LINES",
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "MAX_IGNORE_PATTERNS",
    "MAX_INCLUDE_DEPTH",
    "MAX_LINE_CHARS",
    "MAX_NUMBER_DIGITS",
    "MAX_PROBLEMS",
    "MAX_TOTAL_BYTES",
    "MAX_VALUES",
    "check_lines",
    "check_scalar_text",
    "check_values",
    "too_many_problems",
]

#: Bytes in one definition file (the definition, an include, a conda file, a Dockerfile).
MAX_FILE_BYTES = 1024 * 1024
#: Bytes of all the files one definition reads, together.
MAX_TOTAL_BYTES = 4 * 1024 * 1024
#: Files one definition reads: itself, its ``-r`` includes, its conda file, its Dockerfile.
MAX_FILES = 100
#: Files in one chain of ``-r`` includes (a includes b includes c ...).
MAX_INCLUDE_DEPTH = 32
#: Characters in one line of a file or of a text value.
MAX_LINE_CHARS = 16 * 1024
#: Mappings and lists inside one another (our deepest field is five levels down).
MAX_DEPTH = 32
#: Values (mappings, lists, strings, numbers) in one definition; a YAML alias
#: counts the values of what it points to each time it is used.
MAX_VALUES = 50_000
#: Digits in one number, or in one run of digits inside a text (a version).
MAX_NUMBER_DIGITS = 256
#: Problems reported for one definition before reading stops.
MAX_PROBLEMS = 100
#: Lines of a Dockerfile that ``explain`` matches one by one (matching is
#: quadratic); longer texts are explained as "changed (N lines -> M lines)".
MAX_DIFF_LINES = 2000
#: Patterns of a build context's ``.dockerignore``: each is matched against
#: every file of the context (10,000 of them take seconds).
MAX_IGNORE_PATTERNS = 1000

# Both anchored at the start of a line / of a run of digits: unanchored, each
# position of a long line would start a scan of its own (quadratic).
_LONG_LINE = re.compile(rf"^[^\n]{{{MAX_LINE_CHARS + 1}}}", re.MULTILINE)
# Underscores count as part of a number: YAML reads 1_000 as 1000.
_DIGIT_RUN = re.compile(rf"(?<![0-9_])[0-9_]{{{MAX_NUMBER_DIGITS + 1},}}")


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def check_lines(text: str, label: str) -> None:
    """Refuse a text with a line over ``MAX_LINE_CHARS``; the problem names
    ``label:line``. Linear: one regex scan, no list of lines."""
    m = _LONG_LINE.search(text)
    if m is not None:
        raise SpecError.at(
            f"{label}:{_line_of(text, m.start())}",
            f"the line is longer than {MAX_LINE_CHARS} characters (the limit of one line)",
            "split it, or move the long value to a file",
        )


def _long_number(text: str) -> bool:
    runs = (m.group() for m in _DIGIT_RUN.finditer(text))
    return any(len(run) - run.count("_") > MAX_NUMBER_DIGITS for run in runs)


def check_scalar_text(text: str, where: str) -> Problem | None:
    """The problem with one text value: a line over ``MAX_LINE_CHARS``, a text
    longer than ``MAX_FILE_BYTES``, or a number with over ``MAX_NUMBER_DIGITS``
    digits (Python refuses to read such numbers, and no version has them)."""
    if len(text) > MAX_FILE_BYTES:
        return Problem(where, f"is longer than {MAX_FILE_BYTES} characters (the limit of a value)")
    if len(text) > MAX_LINE_CHARS and _LONG_LINE.search(text):
        return Problem(where, f"has a line longer than {MAX_LINE_CHARS} characters (the limit)")
    if len(text) > MAX_NUMBER_DIGITS and _long_number(text):
        return Problem(
            where,
            f"holds a number with more than {MAX_NUMBER_DIGITS} digits (the limit)",
            "versions and sizes are far shorter: check the value",
        )
    return None


def _join(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    name = str(key)[:80]  # the key is checked on its own; keep paths short
    return f"{path}.{name}" if path else name


def check_values(data: object, path: str = "") -> None:
    """Walk a definition mapping (from YAML, JSON or a Pulumi program) once,
    without recursion, and refuse it when it breaks a cap: nesting over
    ``MAX_DEPTH``, over ``MAX_VALUES`` values (a cycle or an alias bomb ends
    here too), or a text/number over its limit. Raises ``SpecError`` naming
    the field path."""
    count = 0
    stack: list[tuple[object, str, int]] = [(data, path, 0)]
    while stack:
        value, where, depth = stack.pop()
        count += 1
        # Keys are values too: a mapping stacks two per item.
        size = 2 * len(value) if isinstance(value, Mapping) else 0
        size = len(value) if isinstance(value, list | tuple) else size
        # Counted before the children are stacked, so a list that holds
        # itself (a Pulumi program can build one) stops here, small.
        if count + len(stack) + size > MAX_VALUES:
            raise SpecError.at(
                path,
                f"holds more than {MAX_VALUES} values (the limit; YAML aliases count each use)",
                "split the definition, or remove repeated aliases",
            )
        problem: Problem | None = None
        if isinstance(value, str):
            problem = check_scalar_text(value, where)
        elif isinstance(value, bool):
            pass
        elif isinstance(value, int) and value.bit_length() > MAX_NUMBER_DIGITS * 3.33:
            problem = Problem(where, f"is a number with more than {MAX_NUMBER_DIGITS} digits")
        elif isinstance(value, Mapping | list | tuple):
            if depth >= MAX_DEPTH:
                problem = Problem(
                    where,
                    f"nests mappings and lists more than {MAX_DEPTH} levels deep (the limit)",
                )
            elif isinstance(value, Mapping):
                for key, item in value.items():
                    stack.append((key, where, depth + 1))
                    stack.append((item, _join(where, key), depth + 1))
            else:
                stack.extend((item, _join(where, i), depth + 1) for i, item in enumerate(value))
        if problem is not None:
            raise SpecError(problem)


def too_many_problems(where: str) -> Problem:
    """The last problem of a report cut at ``MAX_PROBLEMS``."""
    return Problem(
        where,
        f"stopped after {MAX_PROBLEMS} problems (the limit of one report)",
        "fix these and read it again",
    )
