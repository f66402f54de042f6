"""Azure ML environment files <-> our YAML mapping.

- v2: the CLI/SDK v2 environment YAML (``name``, ``version``, ``image``,
  ``conda_file`` as a path or inline, ``build.path`` / ``dockerfile_path``,
  ``description``, ``tags``, ``inference_config``).
- v1: the folder ``Environment.save_to_directory`` writes:
  ``azureml_environment.json`` (camelCase sections ``python``, ``docker``,
  ``spark``, ``environmentVariables``) and ``conda_dependencies.yml``.

Readers return our YAML mapping plus problems; ``spec.parse`` validates it.
Registry credentials in v1 files (``baseImageRegistry.username/password``)
are never read into a definition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pulumi_mlenv.errors import Problem
from pulumi_mlenv.spec._reader import Reader
from pulumi_mlenv.spec.model import EnvironmentSpec
from pulumi_mlenv.spec.parse import conda_to_dict

__all__ = [
    "V1_CONDA_FILE",
    "V1_JSON",
    "V2_SCHEMA",
    "from_azureml_v1",
    "from_azureml_v1_document",
    "from_azureml_v2",
    "to_azureml_v1",
    "to_azureml_v2",
]

V2_SCHEMA = "https://azuremlschemas.azureedge.net/latest/environment.schema.json"
V1_JSON = "azureml_environment.json"
V1_CONDA_FILE = "conda_dependencies.yml"
_V2_KEYS = (
    "$schema",
    "name",
    "version",
    "image",
    "conda_file",
    "build",
    "description",
    "tags",
    "inference_config",
    "os_type",
    "properties",
    "datastore",
    "stage",
)
# Read and kept out of the definition: they do not describe the image.
_V2_IGNORED = ("inference_config", "properties", "datastore", "stage", "$schema")


def _read_yaml(path: Path, label: str, problems: list[Problem]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        problems.append(Problem(label, f"cannot be read: {err}".splitlines()[0]))
        return None


def from_azureml_v2(
    data: Mapping[str, Any], folder: Path | None, label: str
) -> tuple[dict[str, Any], list[Problem]]:
    """Our YAML mapping for an Azure ML v2 environment document."""
    r = Reader(label)
    r.known_keys(data, label, _V2_KEYS)
    out: dict[str, Any] = {
        k: data[k] for k in ("name", "version", "description", "tags") if data.get(k) is not None
    }
    if str(data.get("os_type", "linux")).lower() != "linux":
        r.add(f"{label}: os_type", "only Linux images are supported")
    docker: dict[str, Any] = {}
    if data.get("image") is not None:
        docker["base_image"] = data["image"]
    build = r.mapping(data.get("build"), f"{label}: build")
    if build:
        r.known_keys(build, f"{label}: build", ("path", "dockerfile_path"))
        context = r.string(build.get("path"), f"{label}: build.path")
        dockerfile = r.string(build.get("dockerfile_path"), f"{label}: build.dockerfile_path")
        if context and folder is None:
            r.add(f"{label}: build.path", "a build context is only read from a file")
        elif context and folder is not None:
            path = folder / context / (dockerfile or "Dockerfile")
            try:
                docker["base_dockerfile"] = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as err:
                r.add(f"{label}: build.path", f"cannot read the Dockerfile: {err}")
            # Its other files are what COPY/ADD read: hashed by their content.
            docker["build_context"] = str((folder / context).resolve())
    if docker:
        out["docker"] = docker
    conda = data.get("conda_file")
    if isinstance(conda, str):
        if folder is None:
            r.add(f"{label}: conda_file", "a file reference is only read by load_definition")
        else:
            conda = _read_yaml(folder / conda, conda, r.problems)
    if conda is not None:
        out["python"] = {"conda": conda}
    return out, r.problems


def to_azureml_v2(spec: EnvironmentSpec) -> dict[str, Any]:
    """The v2 document, with the conda definition inline (v2 accepts both)."""
    out: dict[str, Any] = {"$schema": V2_SCHEMA, "name": spec.name}
    if spec.version is not None:
        out["version"] = spec.version
    if spec.description is not None:
        out["description"] = spec.description
    if spec.tags:
        out["tags"] = dict(spec.tags)
    if spec.docker.base_image is not None:
        out["image"] = spec.docker.base_image
    if spec.docker.build_context is not None:
        # Read back, the Dockerfile comes from the context: a definition
        # whose Dockerfile text is another one's is refused by the check.
        out["build"] = {"path": spec.docker.build_context, "dockerfile_path": "Dockerfile"}
    if spec.python.conda is not None:
        out["conda_file"] = conda_to_dict(spec.python.conda)
    return out


#: What the v1 SDK writes into every saved folder when nobody chose a
#: platform: read as "no platform", so the environment hashes as it does
#: once moved to v2 (which has no platform field) or to any other format.
V1_DEFAULT_PLATFORM = "linux/amd64"


def _v1_platform(value: object) -> str | None:
    if not isinstance(value, Mapping):
        return None
    os_name, arch = value.get("os"), value.get("architecture")
    if not os_name or not arch:
        return None
    platform = f"{str(os_name).lower()}/{str(arch).lower()}"
    return None if platform == V1_DEFAULT_PLATFORM else platform


def from_azureml_v1(folder: Path, label: str) -> tuple[dict[str, Any], list[Problem]]:
    """Our YAML mapping for a ``save_to_directory`` folder."""
    try:
        data = json.loads((folder / V1_JSON).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        return {}, [Problem(f"{label}/{V1_JSON}", f"cannot be read: {err}")]
    return from_azureml_v1_document(data, folder)


def from_azureml_v1_document(
    data: object, folder: Path | None
) -> tuple[dict[str, Any], list[Problem]]:
    """Our YAML mapping for the JSON document of a v1 folder; the files next to
    it (``conda_dependencies.yml``, ``BaseDockerfile``) are read from ``folder``."""
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        return {}, [Problem(V1_JSON, "expected a JSON object")]
    out: dict[str, Any] = {k: data[k] for k in ("name", "version") if data.get(k) is not None}
    if isinstance(data.get("environmentVariables"), Mapping) and data["environmentVariables"]:
        out["environment_variables"] = dict(data["environmentVariables"])
    py = data.get("python") if isinstance(data.get("python"), Mapping) else {}
    assert isinstance(py, Mapping)
    python: dict[str, Any] = {}
    if py.get("userManagedDependencies"):
        python["user_managed"] = True
    interpreter = py.get("interpreterPath")
    if interpreter and (python.get("user_managed") or interpreter != "python"):
        python["interpreter_path"] = interpreter
    if py.get("baseCondaEnvironment"):
        problems.append(Problem(f"{V1_JSON}: python.baseCondaEnvironment", "is not supported"))
    conda_file = py.get("condaDependenciesFile") or V1_CONDA_FILE
    if py.get("condaDependencies") is not None:
        python["conda"] = py["condaDependencies"]
    elif folder is not None and (folder / str(conda_file)).is_file():
        python["conda"] = _read_yaml(folder / str(conda_file), str(conda_file), problems)
    if python:
        out["python"] = python
    dk = data.get("docker") if isinstance(data.get("docker"), Mapping) else {}
    assert isinstance(dk, Mapping)
    docker: dict[str, Any] = {}
    image = dk.get("baseImage")
    registry = dk.get("baseImageRegistry") or {}
    address = registry.get("address") if isinstance(registry, Mapping) else None
    if image and address and not str(image).startswith(f"{address}/"):
        image = f"{address}/{image}"
    if dk.get("baseDockerfile"):
        docker["base_dockerfile"] = dk["baseDockerfile"]
    elif folder is not None and (folder / "BaseDockerfile").is_file():
        docker["base_dockerfile"] = (folder / "BaseDockerfile").read_text(encoding="utf-8-sig")
    elif image:
        docker["base_image"] = image
    for ours, theirs in (("shm_size", "shmSize"), ("arguments", "arguments")):
        if dk.get(theirs):
            docker[ours] = dk[theirs]
    if dk.get("buildContext"):
        problems.append(
            Problem(
                f"{V1_JSON}: docker.buildContext",
                "a v1 build context (a datastore or URL location) is not read",
                "download the context and describe it as an Azure ML v2 'build: {path: ...}'",
            )
        )
    platform = _v1_platform(dk.get("platform"))
    if platform:
        docker["platform"] = platform
    if docker:
        out["docker"] = docker
    sp = data.get("spark") if isinstance(data.get("spark"), Mapping) else {}
    assert isinstance(sp, Mapping)
    spark: dict[str, Any] = {}
    if sp.get("repositories"):
        spark["repositories"] = sp["repositories"]
    if sp.get("packages"):
        spark["packages"] = sp["packages"]
    if sp.get("packages") and sp.get("precachePackages") is False:
        spark["precache_packages"] = False
    if spark:
        out["spark"] = spark
    db = data.get("databricks")
    if isinstance(db, Mapping) and any(db.values()):
        problems.append(Problem(f"{V1_JSON}: databricks", "Databricks libraries are not supported"))
    if data.get("r"):
        problems.append(Problem(f"{V1_JSON}: r", "R environments are not supported"))
    return out, problems


def to_azureml_v1(spec: EnvironmentSpec, *, conda_inline: bool) -> dict[str, Any]:
    """``azureml_environment.json`` as ``save_to_directory`` writes it; the
    conda definition inline, or referenced as ``conda_dependencies.yml``."""
    d, s = spec.docker, spec.spark
    os_name, _, arch = (d.platform or "").partition("/")
    conda = spec.python.conda
    return {
        "name": spec.name,
        "version": spec.version,
        "environmentVariables": dict(spec.environment_variables),
        "python": {
            "userManagedDependencies": spec.python.user_managed,
            "interpreterPath": spec.python.interpreter_path or "python",
            "condaDependencies": conda_to_dict(conda) if conda and conda_inline else None,
            "condaDependenciesFile": V1_CONDA_FILE if conda and not conda_inline else None,
            "baseCondaEnvironment": None,
        },
        "docker": {
            "enabled": False,
            "baseImage": d.base_image,
            "platform": {"os": os_name.capitalize(), "architecture": arch} if d.platform else None,
            "baseDockerfile": d.base_dockerfile,
            "baseImageRegistry": {"address": None, "username": None, "password": None},
            "sharedVolumes": True,
            "shmSize": d.shm_size,
            "arguments": list(d.arguments),
        },
        "spark": {
            "repositories": list(s.repositories),
            "packages": [
                {"group": p.group, "artifact": p.artifact, "version": p.version} for p in s.packages
            ],
            "precachePackages": s.precache_packages,
        },
        "databricks": {
            "mavenLibraries": [],
            "pypiLibraries": [],
            "rcranLibraries": [],
            "jarLibraries": [],
            "eggLibraries": [],
        },
        "r": None,
        "inferencingStackVersion": None,
    }
