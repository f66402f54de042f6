"""The files a definition may read: only regular files inside its own folder.

A definition names other files (``-r other.txt``, ``conda_file:``,
``build.dockerfile_path``, a v1 ``condaDependenciesFile``). Read blindly, a
definition under review could make ``pulumi preview`` read ``/proc/self/environ``
or ``../../etc/shadow`` and print it in its errors, or hang on a FIFO or
``/dev/zero``. So every named file must resolve (symlinks followed) to a
regular file inside the *root*: the definition's folder, or a wider folder the
user names (``load_definition(path, root=...)``, ``mlenv env ... --root``).
System folders (``/proc``, ``/sys``, ``/dev``) are refused even inside a root.
Refusals name the field or line that named the file and never show the file's
content. Reads are capped by ``spec.limits`` (size per file, total, count).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pulumi_mlenv.definition.limits import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_TOTAL_BYTES,
    check_lines,
)
from pulumi_mlenv.errors import Problem, SpecError

__all__ = ["DefinitionFiles", "shown"]

_SYSTEM = (Path("/proc"), Path("/sys"), Path("/dev"))
_WIDER = "or name a wider root (--root, or root= of load_definition)"


def shown(text: str, limit: int = 120) -> str:
    """A name as quoted in a message: cut short, one line."""
    one = text.replace("\n", " ")
    return one if len(one) <= limit else one[:limit] + "..."


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


class DefinitionFiles:
    """Reads the files of one definition, confined to ``root``, within the
    caps of ``spec.limits``. One instance per ``load_definition`` call: it
    counts the files and bytes read so far."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self.files_read = 0
        self.bytes_read = 0
        #: The problem of the first budget (files, total bytes) that ran out;
        #: every later read fails with it, and the caller reports it alone.
        self.stopped: Problem | None = None

    def locate(self, folder: Path, name: str, where: str) -> Path:
        """The real path of ``name`` (relative to ``folder``), when it is a
        regular file inside the root; else ``SpecError`` at ``where``."""
        quoted = f"'{shown(name)}'"
        if not name.strip() or "\0" in name:
            raise SpecError.at(where, f"{quoted} is not a file name")
        try:
            real = Path(os.path.realpath(folder / name.strip()))
        except (OSError, ValueError) as err:
            reason = type(err).__name__
            raise SpecError.at(where, f"{quoted} cannot be resolved: {reason}") from None
        return self._regular(self._confined(real, quoted, where), quoted, where)

    def _confined(self, real: Path, quoted: str, where: str) -> Path:
        if not _inside(real, self.root):
            raise SpecError.at(
                where,
                f"{quoted} is outside the definition's folder ({self.root})",
                f"move the file into that folder, {_WIDER}",
            )
        if any(_inside(real, system) for system in _SYSTEM):
            raise SpecError.at(where, f"{quoted} is a system file, not a definition file")
        return real

    def _regular(self, real: Path, quoted: str, where: str) -> Path:
        try:
            info = os.stat(real)
        except FileNotFoundError:
            raise SpecError.at(where, f"{quoted}: no such file") from None
        except OSError as err:
            raise SpecError.at(where, f"{quoted} cannot be read: {err.strerror}") from None
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, FIFO or socket"
            raise SpecError.at(where, f"{quoted} is {kind}, not a regular file")
        return real

    def read_file(self, path: Path, label: str) -> str:
        """The UTF-8 text of a file already chosen: the definition itself or a
        path ``locate`` returned. It too must resolve inside the root (a
        definition committed as a symlink to ``/proc/self/environ`` is refused)
        and be a regular file within the caps; problems at ``label``."""
        quoted = f"'{shown(path.name)}'"
        real = self._confined(Path(os.path.realpath(path)), quoted, label)
        return self._read(self._regular(real, quoted, label), label)

    def read_named(self, folder: Path, name: str, where: str, label: str) -> str:
        """``locate`` then ``read_file``: problems with the name are reported
        at ``where``, problems with the text at ``label`` (the file's name)."""
        return self._read(self.locate(folder, name, where), label)

    def _stop(self, problem: Problem) -> SpecError:
        self.stopped = self.stopped or problem
        return SpecError(self.stopped)

    def _read(self, real: Path, label: str) -> str:
        """The UTF-8 text of a located regular file, within the caps."""
        if self.stopped is not None:
            raise SpecError(self.stopped)
        if self.files_read >= MAX_FILES:
            raise self._stop(
                Problem(
                    label,
                    f"one definition may read at most {MAX_FILES} files (the limit)",
                    "merge some -r includes",
                )
            )
        self.files_read += 1
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(real, flags)
        except OSError as err:
            raise SpecError.at(label, f"cannot be read: {err.strerror}") from None
        try:
            # Checked again on the open file: it may have been swapped since.
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SpecError.at(label, "is not a regular file")
            data = os.read(fd, MAX_FILE_BYTES + 1)
            while data and len(data) <= MAX_FILE_BYTES:
                more = os.read(fd, MAX_FILE_BYTES + 1 - len(data))
                if not more:
                    break
                data += more
        except OSError as err:
            raise SpecError.at(label, f"cannot be read: {err.strerror}") from None
        finally:
            os.close(fd)
        if len(data) > MAX_FILE_BYTES:
            raise SpecError.at(
                label,
                f"is larger than {MAX_FILE_BYTES} bytes (the limit of one definition file)",
            )
        self.bytes_read += len(data)
        if self.bytes_read > MAX_TOTAL_BYTES:
            raise self._stop(
                Problem(
                    label,
                    f"the files of this definition add up to more than {MAX_TOTAL_BYTES} "
                    "bytes (the limit)",
                )
            )
        try:
            text = data.decode("utf-8-sig")  # a byte-order mark from Windows editors
        except UnicodeDecodeError as err:
            raise SpecError.at(
                label, f"is not UTF-8 text (byte {err.start})", "save it as UTF-8"
            ) from None
        check_lines(text, label)
        return text
