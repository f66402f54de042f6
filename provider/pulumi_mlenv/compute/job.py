"""What a compute target runs: one value, whatever the target.

A ``Job`` names a script inside a source folder (a content snapshot), its
arguments, the environment's variables and where outputs go, plus what the
kind of target needs to find the environment: an interpreter (``local``, and
the Spark driver), an image by digest (``docker``), a packed archive and
Maven coordinates (``spark``). Targets stream what the script prints to an
``on_output`` callback and progress lines (pulls, packing) to
``on_progress``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["OUTPUTS_VARIABLE", "RUN_ID_VARIABLE", "Job", "Sink"]

#: Set in every run: where the script writes what it produces.
OUTPUTS_VARIABLE = "MLENV_OUTPUTS"
#: Set in a run's host processes (local, the Spark driver): the run's id, by
#: which a read finds what a lost run left running.
RUN_ID_VARIABLE = "MLENV_RUN_ID"

#: Receives text as it comes (chunks, not necessarily whole lines).
Sink = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One run's work, for any target.

    ``source`` is the working folder the script runs in (the service gives
    each run a copy of its source snapshot, whose ``outputs`` links to
    ``../outputs``: ``outputs`` sits beside it). ``script`` is a POSIX path
    relative to ``source``. ``variables`` are the
    environment's variables (values included: a job lives in memory only,
    never in a record). ``python`` is the interpreter: a host path for
    ``local`` and the Spark driver, a path or command inside the image for
    ``docker``. ``image`` is the image by digest (``docker``). ``archive`` is
    the packed environment shipped to Spark executors (``None`` runs them
    with ``executor_python`` as it is, for a user-managed environment).
    ``spark_packages`` are Maven coordinates ``group:artifact:version``.
    ``registry_login`` is ``(username, password)`` for pulling ``image``
    (never printed).
    """

    name: str
    source: Path
    script: str
    arguments: tuple[str, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    outputs: Path
    python: str
    image: str | None = None
    archive: Path | None = None
    executor_python: str | None = None
    spark_packages: tuple[str, ...] = ()
    spark_repositories: tuple[str, ...] = ()
    registry_login: tuple[str, str] | None = field(default=None, repr=False)
