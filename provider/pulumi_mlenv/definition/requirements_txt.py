"""pip ``requirements.txt`` files: comments, line continuations, ``-r``
includes (relative to the including file), index options (several on one
line, as pip reads them), a UTF-8 byte-order mark.

Each line is checked where it was written (``requirements.txt:7``), so a
problem points at the file and line the user has to edit. ``--hash=...``
options are dropped: hash-checking mode is an install-time check, it does not
change what is installed, and a definition pins versions instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pulumi_mlenv.definition.limits import (
    MAX_INCLUDE_DEPTH,
    MAX_PROBLEMS,
    check_scalar_text,
    too_many_problems,
)
from pulumi_mlenv.definition.paths import DefinitionFiles
from pulumi_mlenv.definition.pip_combine import Located, combine_pip_lines
from pulumi_mlenv.definition.pip_requirements import parse_pip_entry
from pulumi_mlenv.errors import Problem, SpecError

__all__ = [
    "PipList",
    "expand_pip_entries",
    "read_pip_entries",
    "read_requirements",
    "split_requirements_text",
]

_COMMENT = re.compile(r"(^|\s)#.*$")
_HASH_OPTION = re.compile(r"\s--hash[=\s]\S+")
_INCLUDE = re.compile(r"\s*(-r|--requirement)[\s=]")


@dataclass
class PipList:
    """Checked pip lines: options, then canonical requirements, each in
    written order, combined as pip combines them (``spec.pip_combine``)."""

    lines: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def split_requirements_text(text: str) -> list[tuple[int, str]]:
    """Logical lines of a requirements file as ``(line number, text)``:
    comments removed, ``\\`` continuations joined, blank lines skipped."""
    out: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        if not pending:
            start = number
        line = _COMMENT.sub("", raw).rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        line = _HASH_OPTION.sub("", " " + line).strip()
        if line:
            out.append((start, line))
    if pending.strip():
        out.append((start, pending.strip()))
    return out


def _label(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.relative_to(root))
        except ValueError:
            pass
    return path.name


def read_requirements(
    path: Path, *, root: Path | None = None, files: DefinitionFiles | None = None
) -> PipList:
    """Read ``path`` and its ``-r`` includes. Problems (also duplicates and
    conflicts across files) are labelled ``<file>:<line>``, the file relative
    to ``root`` when given. Files are read through ``files`` (by default
    confined to the folder of ``path``, within the caps of ``spec.limits``)."""
    collected = _Collected(files or DefinitionFiles(root or path.parent))
    _read(collected, path, root, ())
    return collected.combined()


@dataclass
class _Collected:
    files: DefinitionFiles
    lines: list[Located] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def combined(self) -> PipList:
        done = combine_pip_lines(self.lines)
        return PipList(
            [*done.options, *done.requirements], self.problems + done.problems, done.warnings
        )


def _read(out: _Collected, path: Path, root: Path | None, chain: tuple[Path, ...]) -> None:
    resolved = path.resolve()
    label = _label(path, root)
    if resolved in chain:
        out.problems.append(Problem(label, "includes itself (a -r loop)", "remove the -r line"))
        return
    if len(chain) >= MAX_INCLUDE_DEPTH:
        out.problems.append(
            Problem(
                label,
                f"-r includes nest more than {MAX_INCLUDE_DEPTH} files deep (the limit)",
                "include some of these files from a higher level",
            )
        )
        return
    try:
        text = out.files.read_file(path, label)
    except SpecError as err:
        out.problems += err.problems
        return
    for number, line in split_requirements_text(text):
        if len(out.problems) >= MAX_PROBLEMS:
            out.problems.append(too_many_problems(label))
            break
        where = f"{label}:{number}"
        _add_line(out, line, where, path.parent, root, (*chain, resolved))


def _add_line(
    out: _Collected,
    text: str,
    where: str,
    folder: Path | None,
    root: Path | None,
    chain: tuple[Path, ...],
) -> None:
    too_long = check_scalar_text(text, where)  # a 5,000-digit version, a huge joined line
    if too_long is not None:
        out.problems.append(too_long)
        return
    for parsed in parse_pip_entry(text, where):
        if parsed.problem:
            out.problems.append(parsed.problem)
        elif parsed.include:
            kind, name = parsed.include
            if kind == "-c":
                out.problems.append(
                    Problem(
                        where,
                        f"'-c {name}': constraint files are not supported",
                        "pin the versions in the requirements themselves",
                    )
                )
            elif folder is None:
                out.problems.append(
                    Problem(where, f"'-r {name}' names a file, which only load_definition reads")
                )
            else:
                if out.files.stopped is not None:
                    return  # a budget is spent: the caller reports that alone
                try:
                    real = out.files.locate(folder, name, where)
                except SpecError as err:
                    out.problems += err.problems
                    return
                _read(out, real, root, chain)
        elif parsed.option or parsed.requirement:
            out.lines.append(Located(where, parsed.option, parsed.requirement))


def expand_pip_entries(
    entries: list[object],
    where: str,
    folder: Path,
    root: Path | None,
    files: DefinitionFiles | None = None,
) -> tuple[list[object], list[Problem], list[Problem]]:
    """A conda ``pip:`` list with its ``-r file`` lines replaced by the file's
    lines (relative to ``folder``), combined with the other entries as pip
    would (duplicates and conflicts located at their file and line).
    Returns the entries, problems and warnings. A list without ``-r`` is
    returned as is, for the parser."""
    if not any(isinstance(e, str) and _INCLUDE.match(e) for e in entries):
        return entries, [], []
    strings = [(f"{where}[{j}]", e) for j, e in enumerate(entries) if isinstance(e, str)]
    others = [e for e in entries if not isinstance(e, str)]  # the parser reports them
    done = read_pip_entries(strings, folder, root, files)
    return [*done.lines, *others], done.problems, done.warnings


def read_pip_entries(
    entries: Sequence[tuple[str, object]],
    folder: Path,
    root: Path | None,
    files: DefinitionFiles | None = None,
) -> PipList:
    """Pip list entries, each with the place it was written, read as one
    list: ``-r`` files included (relative to ``folder``, read through
    ``files``), then combined."""
    collected = _Collected(files or DefinitionFiles(root or folder))
    for where, entry in entries:
        if isinstance(entry, str):
            _add_line(collected, entry.strip(), where, folder, root, ())
        else:
            collected.problems.append(Problem(where, "expected a pip requirement (a string)"))
    return collected.combined()
