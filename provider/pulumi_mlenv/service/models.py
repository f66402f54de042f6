"""Use cases of models: register a file or folder as a versioned artifact
with a content hash, and read back what is known about it (lineage).

- ``register_model(name, path)``: copy the content into the model store
  (one folder per content hash, shared by every name that has it) and
  register a version; the same content under the same name keeps its version.
- ``register_from_run(name, run, path)``: the same, from a path inside a
  run's outputs, with the run's lineage. Runs are a separate use case: any
  object with the fields of ``RunRecordLike`` plugs in.
- ``lineage_of_environment(name, version)``: the lineage of "trained in this
  environment version" read from the workspace (image by digest and lock).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition.artifacts import tree_digest
from pulumi_mlenv.errors import MlenvError, SpecError
from pulumi_mlenv.service.compose import outside_or_real
from pulumi_mlenv.service.folders import fill_once
from pulumi_mlenv.service.outside import Outside
from pulumi_mlenv.service.records import record_of
from pulumi_mlenv.workspace.serving_store import Lineage, ModelRecord

__all__ = [
    "Registered",
    "RunRecordLike",
    "find_model",
    "lineage_of_environment",
    "list_models",
    "parse_model_ref",
    "register_from_run",
    "register_from_run_id",
    "register_model",
]


class RunRecordLike(Protocol):
    """What ``register_from_run`` reads from a run record: its id, the folder
    holding its outputs, and the exact environment it ran in (name and
    version as registered, definition hash, image by digest, lock lines)."""

    @property
    def run_id(self) -> str: ...
    @property
    def outputs_dir(self) -> str: ...
    @property
    def env_name(self) -> str | None: ...
    @property
    def env_version(self) -> str | None: ...
    @property
    def env_hash(self) -> str | None: ...
    @property
    def image(self) -> str | None: ...
    @property
    def lock(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Registered:
    """``model`` as registered; ``new`` is False when this content already
    had a version under this name (nothing was written)."""

    model: ModelRecord
    new: bool


def parse_model_ref(text: str) -> tuple[str, str | None]:
    """``NAME[:VERSION]`` -> ``(name, version or None)``."""
    name, _, version = text.strip().partition(":")
    if not name:
        raise SpecError.at("model", f"{text!r} is not a model name", "give NAME or NAME:VERSION")
    return name, version or None


def _check_name(name: str) -> None:
    if not name or any(c in name for c in ":/\\@ ") or len(name) > 200:
        raise SpecError.at(
            "name",
            f"{name!r} is not a usable model name",
            "use letters, digits, '-', '_' or '.' (no ':', '/', '@' or spaces)",
        )


def _store_copy(source: Path, store: Path, content_hash: str) -> Path:
    """The store's folder for ``content_hash``, filled from ``source`` when
    missing (written to a temporary folder, then renamed: never half a copy)."""

    def fill(tmp: Path) -> None:
        if source.is_file():
            shutil.copy2(source, tmp / source.name)
        else:
            shutil.copytree(
                source,
                tmp,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", ".git", "*.pyc", "*.pyo"),
            )
        os.chmod(tmp, 0o755)

    return fill_once(store / content_hash.replace(":", "-"), fill, prefix=".incoming-")


def register_model(
    name: str,
    path: str | Path,
    *,
    settings: Settings,
    workspace_url: str,
    lineage: Lineage | None = None,
    description: str | None = None,
    field: str = "path",
    outside: Outside | None = None,
) -> Registered:
    """Register the file or folder at ``path`` as model ``name``. Raises
    ``SpecError`` naming ``field`` when the path is missing or empty: nothing
    is copied or registered then."""
    _check_name(name)
    source = Path(path).expanduser()
    try:
        digest = tree_digest(source)
    except FileNotFoundError:
        raise SpecError.at(
            field, f"no file or folder at {source}", "give the path of the model's file or folder"
        ) from None
    except ValueError as exc:
        raise SpecError.at(field, str(exc), "put the model's files in it") from None
    folder = _store_copy(source, Path(settings.model_store).expanduser(), digest.digest)
    with outside_or_real(outside).serving(workspace_url) as store:
        record, new = store.register_model(
            name,
            content_hash=digest.digest,
            uri=str(folder),
            source_path=str(source.resolve()),
            size=digest.size,
            files=digest.files,
            description=description,
            lineage=lineage,
        )
    return Registered(record, new)


def register_from_run(
    name: str,
    run: RunRecordLike,
    path: str,
    *,
    settings: Settings,
    workspace_url: str,
    description: str | None = None,
    outside: Outside | None = None,
) -> Registered:
    """Register ``path`` (relative to the run's outputs folder) as model
    ``name``, with the run's lineage: run id -> environment version -> image
    digest -> lock. ``path`` may not leave the outputs folder."""
    outputs = Path(run.outputs_dir).resolve()
    target = (outputs / path).resolve()
    if target != outputs and outputs not in target.parents:
        raise SpecError.at(
            "path", f"{path!r} is outside the run's outputs", "give a path inside the outputs"
        )
    lineage = record_of(Lineage, run, env_image=run.image, env_lock=tuple(run.lock))
    return register_model(
        name,
        target,
        settings=settings,
        workspace_url=workspace_url,
        lineage=lineage,
        description=description,
        outside=outside,
    )


@dataclass(frozen=True, slots=True)
class _RecordedRun:
    """A run record of the workspace as ``register_from_run`` reads it."""

    run_id: str
    outputs_dir: str
    env_name: str | None
    env_version: str | None
    env_hash: str | None
    image: str | None
    lock: tuple[str, ...]


def register_from_run_id(
    name: str,
    run_id: str,
    path: str,
    *,
    settings: Settings,
    workspace_url: str,
    description: str | None = None,
    outside: Outside | None = None,
) -> Registered:
    """``register_from_run`` for the run recorded as ``run_id`` (or a unique
    prefix): only a completed run's outputs register, with its environment
    version, hash, image by digest and lock."""
    io = outside_or_real(outside)
    store = io.runs(workspace_url)
    try:
        run = store.get(run_id)
    finally:
        store.close()
    if run.status.value != "completed":
        raise SpecError.at(
            "run", f"run {run.id} is {run.status.value}, not completed",
            "register the outputs of a completed run",
        )  # fmt: skip
    recorded = record_of(_RecordedRun, run, run_id=run.id, outputs_dir=run.outputs_path)
    return register_from_run(
        name, recorded, path, settings=settings, workspace_url=workspace_url,
        description=description, outside=io,
    )  # fmt: skip


def lineage_of_environment(
    name: str, version: str | None, *, workspace_url: str, outside: Outside | None = None
) -> Lineage:
    """ "Trained in environment ``name:version``": its hash, image by digest and
    lock from the workspace. Raises ``SpecError`` (field ``environment``)
    when no such version is registered."""
    with outside_or_real(outside).workspace(workspace_url) as ws:
        record = ws.get_version(name, version)
        if record is None:
            shown = f"{name}:{version}" if version else name
            raise SpecError.at(
                "environment",
                f"no environment version {shown} in the workspace",
                "register the environment first (an Environment resource, or mlenv env versions)",
            )
        digest = record.image.rsplit("@", 1)[-1]
        image = ws.find_image_by_digest(digest)
    return Lineage(
        env_name=record.name,
        env_version=record.version,
        env_hash=record.env_hash,
        env_image=record.image,
        env_lock=tuple(image.lock) if image is not None else (),
    )


def find_model(ref: str, *, workspace_url: str, outside: Outside | None = None) -> ModelRecord:
    """The model ``NAME[:VERSION]`` (latest when no version); ``MlenvError`` if none."""
    name, version = parse_model_ref(ref)
    with outside_or_real(outside).serving(workspace_url) as store:
        record = store.get_model(name, version)
    if record is None:
        raise MlenvError(f"no model {ref} in the workspace")
    return record


def list_models(
    name: str | None = None, *, workspace_url: str, outside: Outside | None = None
) -> list[ModelRecord]:
    """Every registered model version (of ``name``)."""
    with outside_or_real(outside).serving(workspace_url) as store:
        return store.list_models(name)
