"""What a Spark run shows: the script's lines and the warnings, not Spark's
chatter. ``spark-submit`` writes ~90 INFO lines, Ivy's resolution report and
Java stack traces around a script's few lines; the run's log keeps all of
it, the stream a user watches gets ``SparkOutput.feed``'s lines, and a
failure is one line (``failure_reason``) plus the log's path. Pure."""

from __future__ import annotations

import re

__all__ = ["SparkOutput", "failure_reason"]

#: Spark's log4j2 pattern: ``25/12/03 13:00:00 INFO SparkContext: ...``.
_LOG_LINE = re.compile(r"^\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} (\w+) ")
_HIDDEN_LEVELS = frozenset({"INFO", "DEBUG", "TRACE"})
#: A frame of a Java stack trace, its "... 12 more", or a "Caused by:".
_JAVA_FRAME = re.compile(r"^\s+(at [\w$.<>/\[\]-]+\(.*\)|\.\.\. \d+ more)\s*$|^Caused by: ")
_SPARK_BANNER = (
    "Using Spark's default log4j profile",
    "Setting default log level to",
    "To adjust logging level use",
    "For SparkR, use setLogLevel",
)
#: Ivy's report of ``spark.jars.packages``: from its first line to its last.
_IVY_START = (":: loading settings ::", "Ivy Default Cache set to")
_IVY_END = re.compile(r"^\s*\d+ artifacts copied")
#: The line Python ends a traceback with: ``ValueError: bad input``.
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt))\b(:.*)?$")


class SparkOutput:
    """Feeds text as it comes (chunks, not lines) and returns what to show:
    whole lines only, without Spark's INFO lines, banner, Ivy report and
    Java stack frames."""

    def __init__(self) -> None:
        self._partial = ""
        self._in_ivy = False

    def feed(self, text: str) -> str:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        return "".join(line + "\n" for line in lines if self._shown(line))

    def flush(self) -> str:
        """The last line, if it had no newline."""
        rest, self._partial = self._partial, ""
        return rest if rest and self._shown(rest) else ""

    def _shown(self, line: str) -> bool:
        bare = line.rstrip("\r")
        if self._in_ivy:
            self._in_ivy = not _IVY_END.match(bare)
            return False
        if bare.startswith(_IVY_START):
            self._in_ivy = True
            return False
        level = _LOG_LINE.match(bare)
        if level:
            return level.group(1) not in _HIDDEN_LEVELS
        return not (_JAVA_FRAME.match(bare) or bare.startswith(_SPARK_BANNER))


def failure_reason(log: str) -> str | None:
    """The last exception line of a log (``ValueError: bad input``), the
    one thing a failed Spark run says besides where its log is."""
    found = None
    for line in log.splitlines():
        match = _EXCEPTION.match(line.strip()) if not _LOG_LINE.match(line) else None
        if match and not line.startswith((" ", "\t")):
            found = line.strip()
    return found
