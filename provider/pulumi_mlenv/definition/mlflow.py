"""MLflow's ``python_env.yaml`` <-> our YAML mapping.

MLflow logs it next to every model (``MLmodel``, ``conda.yaml``,
``requirements.txt``) and its default environment manager (virtualenv)
builds from it::

    python: 3.10.12
    build_dependencies: [pip==23.3.1, setuptools==68.2.2, wheel==0.41.2]
    dependencies: [-r requirements.txt]

Read as a system-managed definition: the conda dependencies ``python=<version>``
and ``pip`` (a virtualenv has pip), and one pip list holding the build
dependencies, then the dependencies (their ``-r`` files are read by
``load_definition``, relative to the YAML). Pure: mappings in and out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_mlenv.definition._reader import Reader
from pulumi_mlenv.definition.model import EnvironmentSpec
from pulumi_mlenv.definition.pinning import python_version
from pulumi_mlenv.errors import Problem

__all__ = ["FILE_NAMES", "MODEL_FILE", "from_python_env", "is_python_env", "to_python_env"]

FILE_NAMES = ("python_env.yaml", "python_env.yml")
#: The file that makes a folder an MLflow model.
MODEL_FILE = "MLmodel"
_KEYS = ("python", "build_dependencies", "dependencies")
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+){0,2}")


def is_python_env(data: object) -> bool:
    """A mapping whose ``python`` is a version (ours is a mapping)."""
    if not isinstance(data, Mapping):
        return False
    py = data.get("python")
    return isinstance(py, str | int | float) and not isinstance(py, bool)


def from_python_env(
    data: Mapping[str, Any], label: str
) -> tuple[dict[str, Any], list[tuple[str, object]], list[Problem]]:
    """Our YAML mapping for a ``python_env.yaml`` document, without its pip
    list: that comes back as ``(where, entry)`` pairs, each located in the
    user's file (``python_env.yaml: dependencies[0]``), for the caller to
    read (``-r`` files included) and append as the last dependency."""
    r = Reader(label)
    r.known_keys(data, label, _KEYS)
    version = r.string(data.get("python"), f"{label}: python", scalar=True)
    deps: list[Any] = []
    if version is not None:
        version = version.strip()
        if not _VERSION.fullmatch(version):
            r.add(
                f"{label}: python", f"'{version}' is not a Python version", "write it like 3.11.9"
            )
        deps = [f"python={version}", "pip"]
    pip: list[tuple[str, object]] = []
    for key in ("build_dependencies", "dependencies"):
        where = f"{label}: {key}"
        pip += [(f"{where}[{i}]", e) for i, e in enumerate(r.items(data.get(key), where))]
    return {"python": {"conda": {"dependencies": deps}}}, pip, r.problems


def to_python_env(spec: EnvironmentSpec) -> dict[str, Any]:
    """The ``python_env.yaml`` document: the Python version and the pip list
    (options, then requirements) as dependencies. What it cannot carry is
    found by ``dump_definition``'s read-back check."""
    out: dict[str, Any] = {}
    version = python_version(spec)
    if version is not None:
        out["python"] = version
    conda = spec.python.conda
    if conda is not None and (conda.pip or conda.pip_options):
        out["dependencies"] = [*conda.pip_options, *conda.pip]
    return out
