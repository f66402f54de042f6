"""A problem collector for walking untrusted mappings: typed getters that
record a ``Problem`` (with the field path) instead of raising, so that one
``SpecError`` can report everything wrong at once."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_mlenv.definition.limits import MAX_PROBLEMS, too_many_problems
from pulumi_mlenv.errors import Problem, SpecError

__all__ = ["Reader", "join"]

#: Control characters: a line break, NUL, escape...
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def join(path: str, key: str | int) -> str:
    """``python`` + ``conda`` -> ``python.conda``; ``steps`` + 2 -> ``steps[2]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(value: object) -> str:
    if value is None:
        return "nothing (null)"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "true/false",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


class Reader:
    """Collects problems; getters return a fallback value after recording one."""

    def __init__(self, source: str = "") -> None:
        self.problems: list[Problem] = []
        self.source = source

    def add(self, path: str, message: str, fix: str = "") -> None:
        self.report(Problem(path, message, fix))

    def report(self, problem: Problem) -> None:
        """Record a problem; past ``MAX_PROBLEMS`` stop reading (raise them):
        a huge broken file must not take minutes to list every line."""
        self.problems.append(problem)
        if len(self.problems) >= MAX_PROBLEMS:
            raise SpecError([*self.problems, too_many_problems(self.source)])

    def raise_if_any(self) -> None:
        if self.problems:
            raise SpecError(self.problems)

    def mapping(self, value: object, path: str) -> Mapping[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.add(path, f"expected a mapping, got {_type_name(value)}")
            return None
        bad = [k for k in value if not isinstance(k, str)]
        for k in bad:
            self.add(join(path, str(k)), "field names must be strings")
        return {k: v for k, v in value.items() if isinstance(k, str)}

    def known_keys(
        self,
        data: Mapping[str, Any],
        path: str,
        allowed: Iterable[str],
        elsewhere: Mapping[str, str] | None = None,
    ) -> None:
        """Unknown fields are errors, with a "did you mean" from this section's
        names (camelCase tolerated), or from ``elsewhere`` (name -> full path)."""
        allowed = list(allowed)
        for key in data:
            if key in allowed:
                continue
            snake = _CAMEL.sub(r"_\1", key).lower().replace("-", "_")
            close = difflib.get_close_matches(snake, allowed, n=1, cutoff=0.6)
            if close:
                fix = f"did you mean '{close[0]}'?"
            elif elsewhere and snake in elsewhere:
                fix = f"did you mean '{elsewhere[snake]}'?"
            else:
                fix = "known fields: " + ", ".join(allowed)
            self.add(join(path, key), "unknown field", fix)

    def string(
        self, value: object, path: str, *, scalar: bool = False, one_line: bool = False
    ) -> str | None:
        """A non-empty string. ``scalar``: numbers are accepted and written as text
        (YAML reads ``version: 1`` as a number). ``one_line``: a value that
        becomes a word of a build command (a path, a channel) may hold no
        line break, NUL or other control character, which could end the
        command or the Dockerfile instruction it is written in."""
        if value is None:
            return None
        if scalar and isinstance(value, bool):
            return "true" if value else "false"
        if scalar and isinstance(value, int | float):
            return str(value)
        if not isinstance(value, str):
            self.add(path, f"expected a string, got {_type_name(value)}")
            return None
        if not value.strip():
            self.add(path, "must not be empty", "remove the field or give it a value")
            return None
        if one_line and _CONTROL.search(value):
            found = _CONTROL.search(value)
            assert found is not None
            self.add(
                path,
                f"holds the control character {found.group()!r} (a line break, NUL or the like)",
                "write the value on one line, without control characters",
            )
            return None
        return value

    def boolean(self, value: object, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.add(path, f"expected true or false, got {_type_name(value)}")
            return default
        return value

    def items(self, value: object, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list | tuple):
            self.add(path, f"expected a list, got {_type_name(value)}")
            return []
        return list(value)

    def strings(self, value: object, path: str, *, one_line: bool = False) -> tuple[str, ...]:
        out: list[str] = []
        for i, item in enumerate(self.items(value, path)):
            s = self.string(item, join(path, i), one_line=one_line)
            if s is not None:
                out.append(s.strip())
        return tuple(out)

    def pairs(self, value: object, path: str) -> tuple[tuple[str, str], ...]:
        """A mapping of names to scalar values, as sorted pairs."""
        m = self.mapping(value, path)
        if m is None:
            return ()
        out: list[tuple[str, str]] = []
        for k, v in m.items():
            s = self.string(v, join(path, k), scalar=True) if v != "" else ""
            if s is not None:
                out.append((k, s))
        return tuple(sorted(out))
