"""pip ``requirements.txt`` files: comments, line continuations, ``-r``
includes (relative to the including file) and index options.

Each line is checked where it was written (``requirements.txt:7``), so a
problem points at the file and line the user has to edit. ``--hash=...``
options are dropped: hash-checking mode is an install-time check, it does not
change what is installed, and a definition pins versions instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pulumi_mlenv.errors import Problem, SpecError
from pulumi_mlenv.spec.limits import (
    MAX_INCLUDE_DEPTH,
    MAX_PROBLEMS,
    check_scalar_text,
    too_many_problems,
)
from pulumi_mlenv.spec.paths import DefinitionFiles
from pulumi_mlenv.spec.pip_requirements import parse_pip_line

__all__ = ["PipList", "expand_pip_entries", "read_requirements", "split_requirements_text"]

_COMMENT = re.compile(r"(^|\s)#.*$")
_HASH_OPTION = re.compile(r"\s--hash[=\s]\S+")


@dataclass
class PipList:
    """Checked pip lines, in order: options and canonical requirements."""

    lines: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def split_requirements_text(text: str) -> list[tuple[int, str]]:
    """Logical lines of a requirements file as ``(line number, text)``:
    comments removed, ``\\`` continuations joined, blank lines skipped."""
    out: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        line = _COMMENT.sub("", raw).rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            out.append((start, _HASH_OPTION.sub("", " " + line).strip()))
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
    path: Path,
    *,
    root: Path | None = None,
    files: DefinitionFiles | None = None,
    _chain: tuple[Path, ...] = (),
) -> PipList:
    """Read ``path`` and its ``-r`` includes. Problems are labelled
    ``<file>:<line>`` (file relative to ``root`` when given). Includes are
    read through ``files`` (by default confined to the folder of ``path``)."""
    out = PipList()
    files = files or DefinitionFiles(root or path.parent)
    resolved = path.resolve()
    label = _label(path, root)
    if resolved in _chain:
        out.problems.append(Problem(label, "includes itself (a -r loop)", "remove the -r line"))
        return out
    if len(_chain) >= MAX_INCLUDE_DEPTH:
        out.problems.append(
            Problem(
                label,
                f"-r includes nest more than {MAX_INCLUDE_DEPTH} files deep (the limit)",
                "include some of these files from a higher level",
            )
        )
        return out
    try:
        text = files.read_file(path, label)
    except SpecError as err:
        out.problems += err.problems
        return out
    for number, line in split_requirements_text(text):
        if len(out.problems) >= MAX_PROBLEMS:
            out.problems.append(too_many_problems(label))
            break
        where = f"{label}:{number}"
        _add_line(out, line, where, path.parent, root, (*_chain, resolved), files)
    return out


def _add_line(
    out: PipList,
    text: str,
    where: str,
    folder: Path | None,
    root: Path | None,
    chain: tuple[Path, ...],
    files: DefinitionFiles,
) -> None:
    too_long = check_scalar_text(text, where)  # a 5,000-digit version, a huge joined line
    if too_long is not None:
        out.problems.append(too_long)
        return
    parsed = parse_pip_line(text, where)
    if parsed.problem:
        out.problems.append(parsed.problem)
    elif parsed.include:
        kind, name = parsed.include
        if kind == "-c":
            out.problems.append(
                Problem(
                    where,
                    f"'{text}': constraint files are not supported",
                    "pin the versions in the requirements themselves",
                )
            )
        elif folder is None:
            out.problems.append(
                Problem(where, f"'{text}' names a file, which only load_definition reads")
            )
        else:
            if files.stopped is not None:
                return  # a budget is spent: the caller reports that alone
            try:
                real = files.locate(folder, name, where)
            except SpecError as err:
                out.problems += err.problems
                return
            sub = read_requirements(real, root=root, files=files, _chain=chain)
            out.lines += sub.lines
            out.problems += sub.problems
    elif parsed.option or parsed.requirement:
        out.lines.append(parsed.option or parsed.requirement or "")


def expand_pip_entries(
    entries: list[object],
    where: str,
    folder: Path,
    root: Path | None,
    files: DefinitionFiles | None = None,
) -> tuple[list[object], list[Problem]]:
    """A conda ``pip:`` list with its ``-r file`` lines replaced by the file's
    lines (relative to ``folder``, read through ``files``). Other entries are
    left for the parser."""
    files = files or DefinitionFiles(root or folder)
    out: list[object] = []
    problems: list[Problem] = []
    for j, entry in enumerate(entries):
        if isinstance(entry, str) and re.match(r"\s*(-r|--requirement)[\s=]", entry):
            sub = PipList()
            _add_line(sub, entry.strip(), f"{where}[{j}]", folder, root, (), files)
            out += sub.lines
            problems += sub.problems
        else:
            out.append(entry)
    return out, problems
