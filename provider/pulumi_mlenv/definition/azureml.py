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
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulumi_mlenv.definition._reader import Reader
from pulumi_mlenv.definition.limits import MAX_DEPTH, check_values
from pulumi_mlenv.definition.model import CondaSection, EnvironmentSpec
from pulumi_mlenv.definition.parse import conda_to_dict, identity_fields
from pulumi_mlenv.definition.paths import DefinitionFiles
from pulumi_mlenv.definition.safe_yaml import load_yaml
from pulumi_mlenv.errors import Problem, SpecError

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


def _read_yaml(
    files: DefinitionFiles, folder: Path, name: str, where: str, problems: list[Problem]
) -> Any:
    """A YAML file the definition names (confined to its folder); None and a
    problem at ``where`` (the field naming it) when it cannot be used."""
    try:
        data = load_yaml(files.read_named(folder, name, where, name), name)
    except SpecError as err:
        problems += err.problems
        return None
    if data is None:
        problems.append(Problem(where, f"'{name}' is empty", "give it a conda definition"))
    return data


def from_azureml_v2(
    data: Mapping[str, Any],
    folder: Path | None,
    label: str,
    files: DefinitionFiles | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    """Our YAML mapping for an Azure ML v2 environment document; the files it
    names are read from ``folder`` through ``files`` (confined to its root)."""
    if folder is not None and files is None:
        files = DefinitionFiles(folder)
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
        elif context and folder is not None and files is not None:
            name = f"{context}/{dockerfile or 'Dockerfile'}"
            field = "build.dockerfile_path" if dockerfile else "build.path"
            try:
                docker["base_dockerfile"] = files.read_named(
                    folder, name, f"{label}: {field}", name
                )
            except SpecError as err:
                r.problems.extend(err.problems)
            # Its other files are what COPY/ADD read: hashed by their content
            # (load_definition refuses a context outside the definition's root).
            docker["build_context"] = str((folder / context).resolve())
    if docker:
        out["docker"] = docker
    conda = data.get("conda_file")
    if isinstance(conda, str):
        if folder is None or files is None:
            r.add(f"{label}: conda_file", "a file reference is only read by load_definition")
        else:
            conda = _read_yaml(files, folder, conda, f"{label}: conda_file", r.problems)
    if conda is not None:
        out["python"] = {"conda": conda}
    return out, r.problems


def to_azureml_v2(spec: EnvironmentSpec) -> dict[str, Any]:
    """The v2 document, with the conda definition inline (v2 accepts both)."""
    out: dict[str, Any] = {"$schema": V2_SCHEMA, **identity_fields(spec)}
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


def from_azureml_v1(
    folder: Path, label: str, files: DefinitionFiles | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """Our YAML mapping for a ``save_to_directory`` folder (its files read
    through ``files``, confined to the folder by default)."""
    files = files or DefinitionFiles(folder)
    try:
        text = files.read_named(folder, V1_JSON, f"{label}/{V1_JSON}", V1_JSON)
        data = json.loads(text)
        check_values(data, V1_JSON)
    except SpecError as err:
        return {}, list(err.problems)
    except RecursionError:
        return {}, [Problem(V1_JSON, f"nests more than {MAX_DEPTH} levels deep (the limit)")]
    except ValueError as err:
        return {}, [Problem(V1_JSON, f"is not valid JSON: {str(err)[:120]}")]
    return from_azureml_v1_document(data, folder, files)


def _at(field: str) -> str:
    return f"{V1_JSON}: {field}"


def _v1_python(
    r: Reader, value: object, folder: Path | None, files: DefinitionFiles | None
) -> dict[str, Any]:
    py = r.mapping(value, _at("python")) or {}
    python: dict[str, Any] = {}
    if r.boolean(py.get("userManagedDependencies"), _at("python.userManagedDependencies"), False):
        python["user_managed"] = True
    interpreter = r.string(py.get("interpreterPath"), _at("python.interpreterPath"))
    if interpreter and (python.get("user_managed") or interpreter != "python"):
        python["interpreter_path"] = interpreter
    if py.get("baseCondaEnvironment"):
        r.add(_at("python.baseCondaEnvironment"), "is not supported")
    named = r.string(py.get("condaDependenciesFile"), _at("python.condaDependenciesFile"))
    if py.get("condaDependencies") is not None:
        python["conda"] = r.mapping(py["condaDependencies"], _at("python.condaDependencies"))
    elif folder is not None and files is not None:
        name = named or V1_CONDA_FILE
        where = _at("python.condaDependenciesFile") if named else f"{V1_JSON}: {name}"
        if named or os.path.lexists(folder / name):
            python["conda"] = _read_yaml(files, folder, name, where, r.problems)
        elif not python.get("user_managed"):
            # save_to_directory always writes it: without it the environment
            # would silently lose every package.
            r.add(
                where,
                f"'{name}' is missing: the environment's packages are in it",
                "copy the whole folder save_to_directory wrote, or set "
                "python.userManagedDependencies: true",
            )
    return python


def _v1_docker(
    r: Reader, value: object, folder: Path | None, files: DefinitionFiles | None
) -> dict[str, Any]:
    dk = r.mapping(value, _at("docker")) or {}
    docker: dict[str, Any] = {}
    image = r.string(dk.get("baseImage"), _at("docker.baseImage"))
    registry = r.mapping(dk.get("baseImageRegistry"), _at("docker.baseImageRegistry")) or {}
    address = r.string(registry.get("address"), _at("docker.baseImageRegistry.address"))
    if image and address and not image.startswith(f"{address}/"):
        image = f"{address}/{image}"
    dockerfile = r.string(dk.get("baseDockerfile"), _at("docker.baseDockerfile"))
    if dockerfile:
        docker["base_dockerfile"] = dockerfile
    elif folder is not None and files is not None and os.path.lexists(folder / "BaseDockerfile"):
        try:
            docker["base_dockerfile"] = files.read_named(
                folder, "BaseDockerfile", f"{V1_JSON}: BaseDockerfile", "BaseDockerfile"
            )
        except SpecError as err:
            r.problems.extend(err.problems)
    elif image:
        docker["base_image"] = image
    for ours, theirs in (("shm_size", "shmSize"), ("arguments", "arguments")):
        if dk.get(theirs):
            docker[ours] = dk[theirs]
    if dk.get("buildContext"):
        r.add(
            _at("docker.buildContext"),
            "a v1 build context (a datastore or URL location) is not read",
            "download the context and describe it as an Azure ML v2 'build: {path: ...}'",
        )
    platform = _v1_platform(r.mapping(dk.get("platform"), _at("docker.platform")))
    if platform:
        docker["platform"] = platform
    return docker


def from_azureml_v1_document(
    data: object, folder: Path | None, files: DefinitionFiles | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """Our YAML mapping for the JSON document of a v1 folder; the files next to
    it (``conda_dependencies.yml``, ``BaseDockerfile``) are read from ``folder``.
    Sections of the wrong type and a missing conda file are problems, never an
    environment with fewer packages."""
    if not isinstance(data, Mapping):
        return {}, [Problem(V1_JSON, "expected a JSON object")]
    if folder is not None and files is None:
        files = DefinitionFiles(folder)
    r = Reader(V1_JSON)
    out: dict[str, Any] = {k: data[k] for k in ("name", "version") if data.get(k) is not None}
    variables = r.mapping(data.get("environmentVariables"), _at("environmentVariables"))
    if variables:
        out["environment_variables"] = dict(variables)
    python = _v1_python(r, data.get("python"), folder, files)
    if python:
        out["python"] = python
    docker = _v1_docker(r, data.get("docker"), folder, files)
    if docker:
        out["docker"] = docker
    sp = r.mapping(data.get("spark"), _at("spark")) or {}
    spark: dict[str, Any] = {}
    if sp.get("repositories"):
        spark["repositories"] = sp["repositories"]
    if sp.get("packages"):
        spark["packages"] = sp["packages"]
    if sp.get("packages") and sp.get("precachePackages") is False:
        spark["precache_packages"] = False
    if spark:
        out["spark"] = spark
    db = r.mapping(data.get("databricks"), _at("databricks"))
    if db and any(db.values()):
        r.add(_at("databricks"), "Databricks libraries are not supported")
    if data.get("r"):
        r.add(_at("r"), "R environments are not supported")
    return out, r.problems


def to_azureml_v1(spec: EnvironmentSpec, *, conda_inline: bool) -> dict[str, Any]:
    """``azureml_environment.json`` as ``save_to_directory`` writes it; the
    conda definition inline, or referenced as ``conda_dependencies.yml``."""
    d, s = spec.docker, spec.spark
    os_name, _, arch = (d.platform or "").partition("/")
    # A system-managed environment always has its conda part, even empty, as
    # save_to_directory writes it: a reader takes a missing one for a loss.
    conda = spec.python.conda or (None if spec.python.user_managed else CondaSection())
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
