"""Make the steps of any Dockerfile stage leave reproducible layers. Pure:
Dockerfile lines in, Dockerfile lines out.

A ``RUN`` layer holds every file the command created or changed, with the
time it happened: two builds of one definition on two machines differ in
those times alone. The exporter's ``rewrite-timestamp`` would clamp them,
but it decompresses and recompresses every layer of every build (about 6 s
on a cold build here), so instead each ``RUN`` of a stage fixes its own
times, *inside the step*, before BuildKit snapshots it:

- every stage that has a ``RUN`` gets, right after its ``FROM``, a ``SHELL``
  that wraps the stage's shell: it exports ``SOURCE_DATE_EPOCH`` (the
  reproducible-builds convention: Python then writes hash-based ``.pyc``
  files, many tools stop stamping the clock), stamps a marker in ``/dev`` (a
  tmpfs, never part of a layer) one second back, runs the command with the
  shell the stage would have used, then sets the mtime of everything on the root file system
  newer than the marker (files, directories, symbolic links) to
  ``SOURCE_DATE_EPOCH``, and exits with the command's status;
- a user ``SHELL ["/bin/bash", "-c"]`` becomes the same wrapper around bash;
- an exec-form ``RUN ["a", "b"]`` (which bypasses ``SHELL``) becomes
  ``RUN [<wrapper>, "a", "b"]``;
- the stage's last shell is restored at its end, so the image's
  configuration (and a ``FROM`` of it) keeps a plain shell.

Shell-form ``RUN`` lines, heredocs included, are left byte for byte as written.
Ownership is what the command set (numeric ids in the layer, the same on every
machine). ``COPY``/``ADD`` keep their sources' times and stamp the folders they
create with the build's clock: ``needs_rewrite_timestamp`` says when a stage
has one, and the builder asks the exporter to clamp that build's layers then.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_SHELL",
    "STEP_MARK",
    "Instruction",
    "fix_step_times",
    "instructions",
    "needs_rewrite_timestamp",
    "user_command",
]

DEFAULT_SHELL = ("/bin/sh", "-c")
#: ``$0`` of the wrapper: how a step's history entry is recognised as ours.
STEP_MARK = "mlenv-fixed-times"
_WRAPPER = (
    "export SOURCE_DATE_EPOCH=${{SOURCE_DATE_EPOCH:-{epoch}}}; "
    "m=/dev/.mlenv-step-$$; touch -d @$(($(date +%s) - 1)) $m 2>/dev/null || m=; "
    '"$@"; rc=$?; '
    'if [ -n "$m" ]; then find / -xdev -newer $m -exec touch -h -d @{epoch} {{}} + '
    "2>/dev/null; rm -f $m; fi; exit $rc"
)
_KEYWORD = re.compile(r"^\s*([A-Za-z]+)(?:\s+|$)")
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_FROM_BASE = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)
_FLAG = re.compile(r"^(--[A-Za-z-]+(?:=(?:\"[^\"]*\"|'[^']*'|\S)*)?)\s+")


@dataclass(frozen=True, slots=True)
class Instruction:
    """One Dockerfile instruction (or a run of comment/blank lines, keyword
    ``""``): its keyword upper-cased and its lines as written."""

    keyword: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The lines joined, line continuations kept."""
        return "\n".join(self.lines)

    @property
    def rest(self) -> str:
        """Everything after the keyword, continuations joined (heredoc
        bodies excluded)."""
        head: list[str] = []
        for line in self.lines:
            head.append(line[:-1] if line.endswith("\\") else line)
            if not line.endswith("\\"):
                break
        text = " ".join(head)
        m = _KEYWORD.match(text)
        return text[m.end() :].strip() if m else text.strip()


def instructions(lines: Sequence[str]) -> list[Instruction]:
    """Split Dockerfile lines (an entry may hold several lines) into
    instructions, honouring ``\\`` continuations and heredocs."""
    flat = [part for line in lines for part in line.split("\n")]
    out: list[Instruction] = []
    i = 0
    while i < len(flat):
        line = flat[i]
        m = _KEYWORD.match(line)
        if not line.strip() or line.lstrip().startswith("#") or m is None:
            out.append(Instruction("", (line,)))
            i += 1
            continue
        group = [line]
        while group[-1].endswith("\\") and i + 1 < len(flat):
            i += 1
            group.append(flat[i])
        i += 1
        keyword = m.group(1).upper()
        if keyword in ("RUN", "COPY", "ADD"):
            for dash, _, word in _HEREDOC.findall(" ".join(group)):
                while i < len(flat):
                    body = flat[i]
                    group.append(body)
                    i += 1
                    if (body.lstrip("\t") if dash else body) == word:
                        break
        out.append(Instruction(keyword, tuple(group)))
    return out


def _wrapper(shell: Sequence[str], epoch: int) -> list[str]:
    return ["/bin/sh", "-c", _WRAPPER.format(epoch=epoch), STEP_MARK, *shell]


def _json_list(text: str) -> list[str] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _split_flags(rest: str) -> tuple[list[str], str]:
    flags: list[str] = []
    while True:
        m = _FLAG.match(rest)
        if m is None:
            return flags, rest
        flags.append(m.group(1))
        rest = rest[m.end() :]


def _stages(items: list[Instruction]) -> list[list[Instruction]]:
    """Instructions grouped by stage; the first group is what precedes the
    first ``FROM`` (global ARGs, comments)."""
    groups: list[list[Instruction]] = [[]]
    for item in items:
        if item.keyword == "FROM":
            groups.append([])
        groups[-1].append(item)
    return groups


def fix_step_times(lines: Sequence[str], *, epoch: int = 0) -> list[str]:
    """``lines`` (a whole Dockerfile, or its first stages) with every ``RUN``
    fixing the times of what it changed (see the module docstring). Stages
    without a ``RUN`` are returned as written; so is everything else."""
    out: list[str] = []
    final_shell: dict[str, tuple[str, ...]] = {}
    stages = _stages(instructions(lines))
    for item in stages[0]:
        out.extend(item.lines)
    for stage in stages[1:]:
        head = _FROM_BASE.match(stage[0].rest and f"FROM {stage[0].rest}")
        parent, name = (head.group(1), head.group(2)) if head else ("", None)
        shell = final_shell.get(parent.lower(), DEFAULT_SHELL)
        if not any(item.keyword == "RUN" for item in stage):
            out.extend(line for item in stage for line in item.lines)
            if name:
                final_shell[name.lower()] = shell
            continue
        out.extend(stage[0].lines)
        out.append(f"SHELL {json.dumps(_wrapper(shell, epoch))}")
        for item in stage[1:]:
            if item.keyword == "SHELL":
                given = _json_list(item.rest)
                if given is None:  # BuildKit will reject it with its own message
                    out.extend(item.lines)
                    continue
                shell = tuple(given)
                out.append(f"SHELL {json.dumps(_wrapper(shell, epoch))}")
            elif item.keyword == "RUN":
                flags, command = _split_flags(item.rest)
                argv = _json_list(command) if command.startswith("[") else None
                if argv is None:
                    out.extend(item.lines)
                else:
                    wrapped = ["/bin/sh", "-c", _WRAPPER.format(epoch=epoch), STEP_MARK, *argv]
                    out.append(" ".join(["RUN", *flags, json.dumps(wrapped)]))
            else:
                out.extend(item.lines)
        out.append(f"SHELL {json.dumps(list(shell))}")
        if name:
            final_shell[name.lower()] = shell
    return out


def needs_rewrite_timestamp(lines: Sequence[str]) -> bool:
    """Whether ``lines`` hold a ``COPY`` or ``ADD``: those keep their sources'
    times and stamp new folders with the build's clock, which only the
    exporter's ``rewrite-timestamp`` can fix."""
    return any(item.keyword in ("COPY", "ADD") for item in instructions(lines))


def user_command(created_by: str) -> str:
    """A history entry's command as the user wrote it: without our wrapper
    (``RUN /bin/sh -c <wrapper> mlenv-fixed-times /bin/sh -c echo hi`` ->
    ``RUN echo hi``)."""
    marker = f" {STEP_MARK} "
    if marker not in created_by:
        return created_by
    head, _, tail = created_by.partition(marker)
    verb = head.split(" ", 1)[0] if head.startswith(("RUN", "|")) else ""
    for shell in ("/bin/sh -c ", "/bin/bash -c "):
        if tail.startswith(shell):
            tail = tail[len(shell) :]
            break
    if head.startswith("|"):  # ``|N ARG=... /bin/sh ...``: build args first
        verb = "RUN"
    return f"{verb or 'RUN'} {tail}".strip()
