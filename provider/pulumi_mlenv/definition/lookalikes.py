"""Files people pass that are not a definition format we read, but look like
one: say what the file looks like and how to get a supported one from it,
instead of a bare "unknown format" or a list of unknown fields.

Pure: looks at a name and, when given, a loaded document or the first lines.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["looks_like_file", "looks_like_mapping", "looks_like_text"]

# name (lower case) -> (what it is, how to get a definition from it)
_BY_NAME: dict[str, tuple[str, str]] = {
    "pipfile": (
        "a Pipfile (pipenv)",
        "export it: 'pipenv requirements > requirements.txt'",
    ),
    "pipfile.lock": (
        "a Pipfile.lock (pipenv)",
        "export it: 'pipenv requirements > requirements.txt'",
    ),
    "pyproject.toml": (
        "a Python project file (pyproject.toml)",
        "export its dependencies: 'uv export --no-hashes -o requirements.txt'",
    ),
    "poetry.lock": (
        "a Poetry lock file",
        "export it: 'poetry export -f requirements.txt -o requirements.txt'",
    ),
    "uv.lock": ("a uv lock file", "export it: 'uv export --no-hashes -o requirements.txt'"),
    "setup.py": (
        "a setuptools script (setup.py)",
        "list its install_requires in a requirements.txt",
    ),
    "setup.cfg": (
        "a setuptools configuration (setup.cfg)",
        "list its install_requires in a requirements.txt",
    ),
    "dockerfile": (
        "a Dockerfile",
        "reference it from an Azure ML v2 YAML ('build: {path: .}') or put it in our"
        " YAML's docker.base_dockerfile",
    ),
    "conda-lock.yml": (
        "a conda-lock file",
        "pass the environment.yml it was locked from",
    ),
}


def looks_like_file(name: str) -> tuple[str, str] | None:
    """``(what it is, how to fix)`` for a file known by its name, else None."""
    lower = name.lower()
    if lower in _BY_NAME:
        return _BY_NAME[lower]
    if lower.endswith(".dockerfile") or lower.startswith("dockerfile."):
        return _BY_NAME["dockerfile"]
    return None


def looks_like_text(first_lines: str) -> tuple[str, str] | None:
    """For a ``.txt`` file: a conda explicit list is not a requirements file."""
    if "@EXPLICIT" in first_lines:
        return (
            "a conda explicit package list (conda list --explicit)",
            "export the environment instead: 'conda env export --no-builds > environment.yml'",
        )
    return None


_V1_JSON_KEYS = {"python", "docker", "spark", "environmentVariables", "databricks"}
_CONDA_LOCK_KEYS = {"version", "metadata", "package"}


def looks_like_mapping(data: object, suffix: str) -> tuple[str, str] | None:
    """For a document that is no supported format: the format it resembles."""
    if not isinstance(data, Mapping):
        return None
    keys = set(data)
    if suffix == ".json" and keys & _V1_JSON_KEYS:
        return (
            "an Azure ML v1 environment JSON",
            "name it azureml_environment.json and pass its folder",
        )
    if keys >= _CONDA_LOCK_KEYS:
        return ("a conda-lock file", "pass the environment.yml it was locked from")
    if {"artifact_path", "flavors"} & keys:
        return (
            "an MLflow MLmodel file",
            "pass the model's folder: its python_env.yaml or conda.yaml is read",
        )
    return None
