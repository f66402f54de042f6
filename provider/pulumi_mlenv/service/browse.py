"""The read side of the workspace for a person looking at it (``mlenv ui``).

One call reads what the pages show, from the same stores and use cases as
the CLI: environment versions (archived ones too) with their images' locks,
the latest runs, models with their lineage, deployments and endpoints.
``explain`` is the same comparison as ``mlenv env explain NAME:A NAME:B``.
Nothing here writes: a run's log and outputs are read from its folder, with
caps so that a huge log or folder cannot stall a page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pulumi_mlenv.definition.variables import WITHHELD, is_secret_name, referenced
from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.history import VersionDifference, explain_versions
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.workspace import RunRecord, VersionRecord
from pulumi_mlenv.workspace.serving_store import (
    DeploymentRecord,
    EndpointRecord,
    Lineage,
    ModelRecord,
)

__all__ = [
    "WITHHELD",
    "DeploymentRecord",
    "EndpointRecord",
    "Lineage",
    "LogText",
    "ModelRecord",
    "OutputFile",
    "RunRecord",
    "Snapshot",
    "VersionDifference",
    "VersionRecord",
    "check_exists",
    "explain",
    "get_run",
    "is_secret_name",
    "read_log",
    "read_outputs",
    "read_workspace",
    "referenced",
]

#: The end of a log a page shows (bytes); the whole file stays on disk.
LOG_BYTES = 256 * 1024
#: Files of a run's outputs listed at most.
OUTPUT_FILES = 500


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the workspace holds, read at one moment. ``locks`` maps an
    image digest to the lock recorded for it (absent: not recorded)."""

    versions: tuple[VersionRecord, ...]
    locks: dict[str, tuple[str, ...]]
    runs: tuple[RunRecord, ...]
    models: tuple[ModelRecord, ...]
    deployments: tuple[DeploymentRecord, ...]
    endpoints: tuple[EndpointRecord, ...]


@dataclass(frozen=True, slots=True)
class LogText:
    """The end of a run's log: ``text``, whether the start was cut, the
    file's size, and ``found`` False when the file is not there."""

    text: str
    truncated: bool
    size: int
    found: bool


@dataclass(frozen=True, slots=True)
class OutputFile:
    """One file of a run's outputs: its path relative to the folder and size."""

    path: str
    size: int


def check_exists(workspace_url: str, *, outside: Outside | None = None) -> None:
    """Raise ``MlenvError`` when ``workspace_url`` is a SQLite file that does
    not exist (a page over it would create an empty one), or a workspace that
    cannot be read (a corrupt file, a server refusing the login): said once
    at the start, not on every page."""
    from pulumi_mlenv.service.workspaces import check_readable

    if workspace_url.startswith("sqlite:///"):
        path = Path(workspace_url.removeprefix("sqlite:///")).expanduser()
        if str(path) != ":memory:" and not path.exists():
            raise MlenvError(
                f"no workspace at {path}: nothing is recorded there yet "
                "(a run, `pulumi up` or `mlenv model register` records there), "
                "or give --workspace URL"
            )
    check_readable(workspace_url, outside=outside)


def read_workspace(
    workspace_url: str, *, run_limit: int = 200, outside: Outside | None = None
) -> Snapshot:
    """Everything the pages show, newest runs first (at most ``run_limit``)."""
    io = outside_or_real(outside)
    with io.workspace(workspace_url) as ws:
        versions = ws.list_versions(None, include_archived=True)
        locks: dict[str, tuple[str, ...]] = {}
        for version in versions:
            if version.digest and version.digest not in locks:
                image = ws.find_image_by_digest(version.digest)
                if image is not None:
                    locks[version.digest] = tuple(image.lock)
    store = io.runs(workspace_url)
    try:
        runs = store.list(run_limit)
    finally:
        store.close()
    with io.serving(workspace_url) as serving:
        models = serving.list_models()
        deployments = serving.list_deployments()
        endpoints = serving.list_endpoints()
    return Snapshot(
        versions=tuple(versions),
        locks=locks,
        runs=tuple(runs),
        models=tuple(models),
        deployments=tuple(deployments),
        endpoints=tuple(endpoints),
    )


def explain(
    old_label: str, new_label: str, workspace_url: str, *, outside: Outside | None = None
) -> VersionDifference:
    """Why two registered versions differ (``mlenv env explain``'s answer)."""
    return explain_versions(old_label, new_label, workspace_url, outside=outside)


def get_run(run_id: str, workspace_url: str, *, outside: Outside | None = None) -> RunRecord:
    """One run by id or unique prefix (older than the snapshot's newest)."""
    from pulumi_mlenv.service.runs import get_run as get

    return get(run_id, workspace_url, outside=outside)


def read_log(run: RunRecord, max_bytes: int = LOG_BYTES) -> LogText:
    """The last ``max_bytes`` of the run's log, cut at a line start."""
    path = Path(run.logs_path)
    try:
        size = path.stat().st_size
        with path.open("rb") as log:
            if size > max_bytes:
                log.seek(size - max_bytes)
                data = log.read()
                data = data[data.find(b"\n") + 1 :] if b"\n" in data else data
            else:
                data = log.read()
    except OSError:
        return LogText("", False, 0, False)
    return LogText(data.decode("utf-8", errors="replace"), size > max_bytes, size, True)


def read_outputs(run: RunRecord, limit: int = OUTPUT_FILES) -> tuple[list[OutputFile], bool]:
    """The files under the run's outputs (links not followed), sorted, and
    whether there were more than ``limit``."""
    root = Path(run.outputs_path)
    found: list[OutputFile] = []
    if not root.is_dir():
        return found, False
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            try:
                size = path.lstat().st_size
            except OSError:
                continue
            found.append(OutputFile(path.relative_to(root).as_posix(), size))
            if len(found) > limit:
                return found[:limit], True
    return found, False
