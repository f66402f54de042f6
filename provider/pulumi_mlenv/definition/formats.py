"""Definition files: detect the format and read any of them into an
``EnvironmentSpec`` (``format_writers`` writes one back).

Formats: our YAML; conda ``environment.yml``; pip ``requirements.txt``; Azure
ML v2 environment YAML; the Azure ML v1 ``save_to_directory`` folder. Every
reader turns its file into our YAML mapping and hands it to
``parse_definition``, so validation is the same whatever the format.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pulumi_mlenv.definition import azureml, mlflow
from pulumi_mlenv.definition.build_context import fingerprint_build_context
from pulumi_mlenv.definition.limits import MAX_PROBLEMS, too_many_problems
from pulumi_mlenv.definition.lookalikes import looks_like_file, looks_like_mapping, looks_like_text
from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.definition.paths import DefinitionFiles, shown
from pulumi_mlenv.definition.requirements_txt import (
    expand_pip_entries,
    read_pip_entries,
    read_requirements,
)
from pulumi_mlenv.definition.safe_yaml import load_yaml
from pulumi_mlenv.definition.validated import parse_definition
from pulumi_mlenv.errors import Problem, SpecError, warn_problems

__all__ = ["Format", "detect_format", "load_definition"]


class Format(StrEnum):
    """A definition file format; the value is the name the CLI uses."""

    MLENV = "mlenv"
    CONDA = "conda"
    REQUIREMENTS = "requirements"
    AZUREML_V2 = "azureml-v2"
    AZUREML_V1 = "azureml-v1"
    MLFLOW = "mlflow"


_OURS = {"python", "docker", "spark", "environment_variables"}
_CONDA_KEYS = {"channels", "dependencies", "variables", "prefix"}
_V2_HINTS = {"image", "conda_file", "build", "inference_config", "os_type"}
_GENERIC_STEMS = {
    "environment",
    "env",
    "requirements",
    "conda",
    "conda_dependencies",
    "conda-env",
    "mlenv",
    "definition",
    "azureml_environment",
    "python_env",
}


def _default_name(path: Path) -> str:
    path = path.resolve()
    stem = path.name if path.is_dir() else path.stem
    if stem.lower() in _GENERIC_STEMS or stem.startswith("requirements"):
        stem = path.parent.name if not path.is_dir() else stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._") or "environment"


def _load_yaml(path: Path, files: DefinitionFiles | None = None) -> Any:
    """The YAML file the user named (a regular file, within the caps)."""
    files = files or DefinitionFiles(path.parent)
    return load_yaml(files.read_file(path, path.name), path.name)


def _format_of_mapping(data: object) -> Format | None:
    if not isinstance(data, Mapping):
        return None
    keys = set(data)
    schema = str(data.get("$schema", ""))
    if "environment.schema" in schema or (keys & _V2_HINTS and not keys & _OURS):
        return Format.AZUREML_V2
    if mlflow.is_python_env(data):
        return Format.MLFLOW
    if keys & _CONDA_KEYS and not keys & _OURS:
        return Format.CONDA
    return Format.MLENV


def _not_a_format(path: Path, what: tuple[str, str]) -> SpecError:
    return SpecError.at(str(path), f"looks like {what[0]}, which is not a definition", what[1])


def detect_format(path: str | Path) -> Format:
    """The format of a file or folder, from its name and, for YAML, its keys.

    Folders: an Azure ML v1 folder (``azureml_environment.json``); an MLflow
    model folder (``MLmodel``) through its ``python_env.yaml``, else its
    ``conda.yaml``; else the first of ``mlenv.yml``, ``environment.yml``,
    ``conda.yml``, ``python_env.yaml``, ``requirements.txt`` in it, else its
    only YAML file. Raises ``SpecError`` when nothing fits, saying which
    format the file looks like when it resembles one we do not read.
    """
    p = Path(path)
    if p.is_dir():
        if (p / azureml.V1_JSON).is_file():
            return Format.AZUREML_V1
        inner = _folder_file(p)
        return detect_format(inner)
    if not p.is_file():
        if p.exists():
            raise SpecError.at(str(p), "is not a regular file (a device, FIFO or socket)")
        raise SpecError.at(str(p), "no such file or folder")
    if p.name == azureml.V1_JSON:
        return Format.AZUREML_V1
    if p.name == mlflow.MODEL_FILE:
        return detect_format(p.parent)
    if p.name in mlflow.FILE_NAMES:
        return Format.MLFLOW
    lookalike = looks_like_file(p.name)
    if lookalike is not None:
        raise _not_a_format(p, lookalike)
    if p.suffix in (".txt", ".in") or p.name.startswith("requirements"):
        lookalike = looks_like_text(_head(p))
        if lookalike is not None:
            raise _not_a_format(p, lookalike)
        return Format.REQUIREMENTS
    if p.suffix in (".yml", ".yaml"):
        data = _load_yaml(p)
        fmt = _format_of_mapping(data)
        if fmt is None:
            raise SpecError.at(str(p), "expected a YAML mapping (a definition)")
        lookalike = looks_like_mapping(data, p.suffix)
        if fmt is Format.MLENV and lookalike is not None and not set(data) & {*_OURS, "name"}:
            raise _not_a_format(p, lookalike)
        return fmt
    if p.suffix == ".json":
        try:
            lookalike = looks_like_mapping(json.loads(_peek(p)), ".json")
        except (RecursionError, ValueError):
            lookalike = None
        if lookalike is not None:
            raise _not_a_format(p, lookalike)
    raise SpecError.at(
        str(p),
        "unknown definition format",
        "use a .yml/.yaml definition, requirements.txt, an MLflow python_env.yaml"
        " or an Azure ML folder",
    )


def _peek(path: Path, size: int = 64 * 1024) -> str:
    """The start of a file, to tell what it looks like; empty unless it is a
    regular file inside its own folder (a definition linked to
    ``/etc/passwd`` is not opened here: reading it is refused later)."""
    real = Path(os.path.realpath(path))
    if real.parent != Path(os.path.realpath(path.parent)) or not real.is_file():
        return ""
    try:
        with real.open("rb") as f:
            return f.read(size).decode("utf-8-sig", errors="replace")
    except OSError:
        return ""


def _head(path: Path) -> str:
    return "".join(_peek(path).splitlines(keepends=True)[:50])


_FOLDER_FILES = (
    "mlenv.yml",
    "mlenv.yaml",
    "environment.yml",
    "environment.yaml",
    "conda.yml",
    "conda.yaml",
    *mlflow.FILE_NAMES,
    "requirements.txt",
)


def _folder_file(folder: Path) -> Path:
    names: tuple[str, ...] = _FOLDER_FILES
    if (folder / mlflow.MODEL_FILE).is_file():
        # An MLflow model: its default environment manager reads python_env.yaml.
        names = (*mlflow.FILE_NAMES, "conda.yaml", "conda.yml", "requirements.txt")
    for name in names:
        if (folder / name).is_file():
            return folder / name
    # Otherwise a folder holding a single YAML file is that definition.
    yamls = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
    if len(yamls) == 1:
        return yamls[0]
    raise SpecError.at(
        str(folder),
        "holds no definition",
        "expected azureml_environment.json, mlenv.yml, environment.yml, python_env.yaml"
        " or requirements.txt",
    )


def _relabel(err: SpecError, label: str, prefix: str) -> SpecError:
    """Point problems found in our YAML names back at the user's file."""
    out: list[Problem] = []
    for p in err.problems:
        path = p.path
        if prefix and path.startswith(prefix):
            path = f"{label}: {path[len(prefix) :].lstrip('.')}"
        elif ":" not in path:
            path = f"{label}: {path}" if path else label
        out.append(Problem(path, p.message, p.fix))
    return SpecError(out)


def _expand_includes(
    conda: object, folder: Path, label: str, files: DefinitionFiles
) -> list[Problem]:
    """Replace ``-r file`` lines of a conda pip list in place. Warnings
    (lines given twice) are issued here, problems returned."""
    if not isinstance(conda, dict) or not isinstance(conda.get("dependencies"), list):
        return []
    problems: list[Problem] = []
    for i, dep in enumerate(conda["dependencies"]):
        if isinstance(dep, dict) and isinstance(dep.get("pip"), list):
            dep["pip"], found, warnings = expand_pip_entries(
                dep["pip"], f"{label}: dependencies[{i}].pip", folder, folder, files
            )
            problems += found
            warn_problems(warnings)
    return problems


def _confinement(p: Path, root: str | Path | None) -> DefinitionFiles:
    """The reader of this definition's files: inside ``root`` when given (the
    definition must be in it), else inside the definition's own folder."""
    folder = p if p.is_dir() else p.parent
    files = DefinitionFiles(Path(root) if root is not None else folder)
    real = Path(os.path.realpath(folder))
    if root is not None and not (real == files.root or files.root in real.parents):
        raise SpecError.at(
            "root",
            f"the definition '{shown(str(p))}' is not inside the root {files.root}",
            "name a root that holds the definition and the files it reads",
        )
    return files


def load_definition(path: str | Path, *, root: str | Path | None = None) -> EnvironmentSpec:
    """Read a definition in any supported format (file or folder).

    The name defaults to the file (or folder) name when the format has none.
    Every problem, in the file or in the definition, raises one ``SpecError``
    whose paths start with the file name.

    Files the definition names (``-r`` includes, ``conda_file``, a Dockerfile,
    a v1 conda file) are read only when they are regular files inside ``root``:
    by default the definition's own folder (see ``spec.paths``). Every read is
    capped (see ``spec.limits`` and docs/limits.md).
    """
    p = Path(path)
    fmt = detect_format(p)
    if p.name == mlflow.MODEL_FILE and p.is_file():
        p = p.parent
    files = _confinement(p, root)
    if p.is_dir() and fmt is not Format.AZUREML_V1:
        p = _folder_file(p)
    label = p.name
    data, problems, prefix = _definition_data(fmt, p, label, files)
    if not data.get("name"):
        data = {**data, "name": _default_name(p)}
    if files.stopped is not None:
        # A budget ran out: that one problem says it all (the lines after it
        # would each repeat it).
        raise SpecError(files.stopped)
    try:
        spec = parse_definition(data, source=str(p))
    except SpecError as err:
        problems += _relabel(err, label, prefix).problems
    if problems:
        if len(problems) > MAX_PROBLEMS:
            problems = [*problems[:MAX_PROBLEMS], too_many_problems(label)]
        raise SpecError(problems)
    return fingerprint_build_context(
        spec, base=p if p.is_dir() else p.parent, confine_to=files.root
    )


def _definition_data(
    fmt: Format, p: Path, label: str, files: DefinitionFiles
) -> tuple[dict[str, Any], list[Problem], str]:
    """The definition in our own shape, the problems found reading it, and
    the field path its problems are relabelled under (its conda part for
    formats that are conda files at heart)."""
    if fmt is Format.AZUREML_V1:
        folder = p if p.is_dir() else p.parent
        data, problems = azureml.from_azureml_v1(folder, label, files)
        return data, problems, "python.conda"
    if fmt is Format.REQUIREMENTS:
        found = read_requirements(p, root=p.parent, files=files)
        warn_problems(found.warnings)
        dependencies = [{"pip": found.lines}] if found.lines else []
        return {"python": {"conda": {"dependencies": dependencies}}}, found.problems, ""
    raw = _load_yaml(p, files)
    if not isinstance(raw, dict):
        raise SpecError.at(label, "expected a YAML mapping (a definition)")
    return _from_yaml(fmt, raw, p, label, files)


def _from_yaml(
    fmt: Format, raw: dict[str, Any], p: Path, label: str, files: DefinitionFiles
) -> tuple[dict[str, Any], list[Problem], str]:
    """``_definition_data`` for the YAML formats: conda, MLflow, Azure ML v2, ours."""
    if fmt is Format.CONDA:
        problems = _expand_includes(raw, p.parent, label, files)
        return {"name": raw.get("name"), "python": {"conda": raw}}, problems, "python.conda"
    if fmt is Format.MLFLOW:
        data, entries, problems = mlflow.from_python_env(raw, label)
        if entries:
            found = read_pip_entries(entries, p.parent, p.parent, files)
            problems += found.problems
            warn_problems(found.warnings)
            data["python"]["conda"]["dependencies"].append({"pip": found.lines})
        return data, problems, "python.conda"
    if fmt is Format.AZUREML_V2:
        data, problems = azureml.from_azureml_v2(raw, p.parent, label, files)
        conda = data.get("python", {}).get("conda")
        problems += _expand_includes(conda, p.parent, label, files)
        return data, problems, "python.conda"
    return raw, _inline_conda_file(raw, p.parent, label, files), ""


def _inline_conda_file(
    data: dict[str, Any], folder: Path, label: str, files: DefinitionFiles
) -> list[Problem]:
    py = data.get("python")
    if not isinstance(py, dict) or "conda_file" not in py:
        problems: list[Problem] = []
        if isinstance(py, dict):
            problems += _expand_includes(py.get("conda"), folder, label, files)
        return problems
    if py.get("conda") is not None:
        return [
            Problem(
                f"{label}: python.conda_file",
                "both python.conda and conda_file are set",
                "keep one",
            )
        ]
    name = py.pop("conda_file")
    if not isinstance(name, str):
        return [Problem(f"{label}: python.conda_file", "expected a file name")]
    try:
        text = files.read_named(folder, name, f"{label}: python.conda_file", name)
        py["conda"] = load_yaml(text, name)
    except SpecError as err:
        return list(err.problems)
    return _expand_includes(py["conda"], folder, label, files)
