"""YAML for untrusted definition files: the safe loader, with caps.

``yaml.safe_load`` builds no Python objects from tags, but still lets a small
file expand into a huge value through aliases (``&a [*b, *b, ...]``: the
"billion laughs"), nests until Python's recursion limit, and reads a
5,000-digit number into an int Python refuses to print. Here the text is first
read as a stream of events (flat, linear, no recursion): depth, values (each
alias counting what it points to) and digit runs are checked against
``spec.limits`` and the first excess is refused with its line. Only then is
the text loaded, with the C loader when PyYAML has it.
"""

from __future__ import annotations

from typing import Any

import yaml

from pulumi_mlenv.definition.limits import (
    MAX_DEPTH,
    MAX_VALUES,
    check_lines,
    check_scalar_text,
)
from pulumi_mlenv.errors import SpecError

__all__ = ["load_yaml"]

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _where(label: str, event: yaml.Event) -> str:
    mark = event.start_mark
    return f"{label}:{mark.line + 1}" if mark is not None else label


def _scan(text: str, label: str) -> None:
    """Refuse, with its line, the first event that breaks a cap."""
    count = 0
    # Values each anchor stands for, and for each open collection its anchor
    # and the count when it opened.
    sizes: dict[str, int] = {}
    open_: list[tuple[str | None, int]] = []
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, _OPEN):
            count += 1
            open_.append((event.anchor, count))
            if len(open_) > MAX_DEPTH:
                raise SpecError.at(
                    _where(label, event),
                    f"nests mappings and lists more than {MAX_DEPTH} levels deep (the limit)",
                )
        elif isinstance(event, _CLOSE):
            anchor, start = open_.pop()
            if anchor is not None:
                sizes[anchor] = count - start + 1
        elif isinstance(event, yaml.ScalarEvent):
            count += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
            problem = check_scalar_text(event.value, _where(label, event))
            if problem is not None:
                raise SpecError(problem)
        elif isinstance(event, yaml.AliasEvent):
            count += sizes.get(event.anchor or "", 1)
        if count > MAX_VALUES:
            raise SpecError.at(
                _where(label, event),
                f"holds more than {MAX_VALUES} values (the limit; an alias counts what it "
                "points to each time it is used)",
                "remove repeated aliases, or split the file",
            )


def load_yaml(text: str, label: str) -> Any:
    """The value of a YAML document, or ``SpecError`` naming ``label:line``
    when it is not valid YAML or breaks a cap of ``spec.limits``."""
    check_lines(text, label)
    try:
        _scan(text, label)
        return yaml.load(text, Loader=_LOADER)  # a safe loader: no tags build objects
    except SpecError:
        raise  # a cap, already with its line (SpecError is a ValueError too)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{label}:{mark.line + 1}" if mark is not None else label
        problem = str(getattr(err, "problem", None) or "cannot be parsed").splitlines()[0]
        raise SpecError.at(where, f"is not valid YAML: {problem}") from None
    except (ValueError, TypeError, OverflowError) as err:
        # A scalar YAML types but Python cannot build: `2024-13-01`, `!!int x`.
        raise SpecError.at(
            label,
            f"holds a value YAML cannot read: {str(err).splitlines()[0][:120]}",
            "put dates, versions and odd numbers in quotes",
        ) from None
