"""Our YAML (as a mapping) <-> ``EnvironmentSpec``, with validation.

``parse_definition`` is pure: it reads a mapping already loaded from YAML (or
built by a Pulumi program), canonicalises every string that reaches the hash,
and raises one ``SpecError`` holding *every* problem found, each with its field
path (``python.conda.dependencies[3].pip[0]``) and a fix. File references
(``python.conda_file``, ``-r`` lines) are resolved by ``load_definition``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_mlenv.definition._reader import Reader, join
from pulumi_mlenv.definition.conda_specs import canonical_conda_spec, conda_spec_name
from pulumi_mlenv.definition.docker_section import DOCKER_KEYS, parse_docker
from pulumi_mlenv.definition.limits import check_values
from pulumi_mlenv.definition.model import (
    CondaSection,
    EnvironmentSpec,
    PythonSection,
    SparkPackage,
    SparkSection,
)
from pulumi_mlenv.definition.pip_combine import Located, combine_pip_lines
from pulumi_mlenv.definition.pip_requirements import parse_pip_entry
from pulumi_mlenv.errors import SpecError, redact_credentials, warn_problems

__all__ = ["conda_to_dict", "identity_fields", "to_dict"]

_TOP = (
    "name",
    "version",
    "description",
    "tags",
    "python",
    "docker",
    "spark",
    "environment_variables",
)
_PYTHON = ("user_managed", "interpreter_path", "conda", "conda_file")
_CONDA = ("name", "channels", "dependencies", "variables", "prefix")
_SPARK = ("repositories", "packages", "precache_packages")
# A field written in the wrong section: where it belongs.
_ELSEWHERE = {
    **{k: f"python.{k}" for k in _PYTHON},
    **{k: f"docker.{k}" for k in DOCKER_KEYS},
    **{k: f"spark.{k}" for k in _SPARK},
    "channels": "python.conda.channels",
    "dependencies": "python.conda.dependencies",
    "pip": "python.conda.dependencies[-1].pip",
    "image": "docker.base_image",
    "variables": "environment_variables",
}

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAVEN_PART = re.compile(r"[A-Za-z0-9_.\-${}]+")


def _parse(data: object, source: str = "") -> EnvironmentSpec:
    check_values(data)  # depth, size, long numbers: before any field is read
    r = Reader(source)
    top = r.mapping(data, "")
    if top is None:
        if data is None:
            r.add("", "the definition is empty", "start with 'name: my-env'")
        r.raise_if_any()
        raise SpecError.at("", "expected a mapping")  # unreachable: mapping() recorded it
    r.known_keys(top, "", _TOP, _ELSEWHERE)
    name = r.string(top.get("name"), "name")
    if name is None and "name" not in top:
        r.add("name", "is required", "add 'name: my-env'")
    elif name is not None and not NAME_PATTERN.fullmatch(name):
        # Made from the redacted name: the rewrite would hide a URL's
        # credential from the redaction every problem gets.
        fixed = re.sub(r"[^A-Za-z0-9._-]+", "-", redact_credentials(name.strip())).strip("-._")
        r.add("name", f"'{name}' is not a valid name", f"did you mean '{fixed or 'my-env'}'?")
    python, conda_vars = _python(r, top.get("python"))
    env_vars = dict(r.pairs(top.get("environment_variables"), "environment_variables"))
    for key in env_vars:
        if not _ENV_NAME.fullmatch(key):
            r.add(join("environment_variables", key), "is not a valid variable name")
    for key, value in conda_vars:
        if env_vars.get(key, value) != value:
            r.add(join("python.conda.variables", key), "conflicts with environment_variables")
        env_vars[key] = value
    spec = EnvironmentSpec(
        name=name or "",
        version=r.string(top.get("version"), "version", scalar=True),
        description=r.string(top.get("description"), "description"),
        tags=r.pairs(top.get("tags"), "tags"),
        python=python,
        docker=parse_docker(r, _ELSEWHERE, top.get("docker")),
        spark=_spark(r, top.get("spark")),
        environment_variables=tuple(sorted(env_vars.items())),
    )
    r.raise_if_any()
    return spec


def _python(r: Reader, value: object) -> tuple[PythonSection, tuple[tuple[str, str], ...]]:
    m = r.mapping(value, "python")
    if m is None:
        return PythonSection(), ()
    r.known_keys(m, "python", _PYTHON, _ELSEWHERE)
    user_managed = r.boolean(m.get("user_managed"), "python.user_managed", False)
    interpreter = r.string(m.get("interpreter_path"), "python.interpreter_path", one_line=True)
    if m.get("conda_file") is not None:
        r.add(
            "python.conda_file",
            "a file reference is only read by load_definition",
            "load the definition file with load_definition, or inline it under python.conda",
        )
    conda, variables = _conda(r, m.get("conda"), "python.conda")
    if user_managed and conda and (conda.dependencies or conda.pip or conda.pip_options):
        r.add(
            "python.conda",
            "a user-managed environment installs nothing, so these dependencies would be ignored",
            "remove python.conda, or set python.user_managed: false",
        )
    if user_managed and interpreter is None:
        r.add(
            "python.interpreter_path",
            "is required when python.user_managed is true",
            "give the interpreter of your image, e.g. '/usr/bin/python3'",
        )
    section = PythonSection(user_managed=user_managed, interpreter_path=interpreter, conda=conda)
    return section, variables


def _conda(
    r: Reader, value: object, path: str
) -> tuple[CondaSection | None, tuple[tuple[str, str], ...]]:
    m = r.mapping(value, path)
    if m is None:
        return None, ()
    r.known_keys(m, path, _CONDA, _ELSEWHERE)
    channels = r.strings(m.get("channels"), join(path, "channels"), one_line=True)
    for i, channel in enumerate(channels):
        if channel in channels[:i]:
            r.add(join(join(path, "channels"), i), f"'{channel}' is listed twice", "remove it")
    deps: list[str] = []
    pip: list[str] = []
    options: list[str] = []
    seen: dict[str, str] = {}
    dpath = join(path, "dependencies")
    pip_lists = 0
    for i, item in enumerate(r.items(m.get("dependencies"), dpath)):
        ipath = join(dpath, i)
        if isinstance(item, Mapping):
            sub = r.mapping(item, ipath) or {}
            r.known_keys(sub, ipath, ("pip",))
            if "pip" in sub:
                pip_lists += 1
                if pip_lists == 2:
                    r.add(ipath, "a second pip list", "merge it into the first one")
                _pip_entries(r, sub["pip"], join(ipath, "pip"), pip, options)
            continue
        if isinstance(item, bool | int | float):
            # YAML reads `- 3.10` as the number 3.1: never guess a package.
            r.add(ipath, f"expected a package spec, got {item!r}", "write it as 'python=3.10'")
            continue
        text = r.string(item, ipath)
        if text is None:
            continue
        spec = canonical_conda_spec(text)
        if spec is None:
            r.add(
                ipath,
                f"'{text}' is not a conda package spec",
                "write it as 'name', 'name=1.2' or 'name>=1.2'",
            )
            continue
        name = conda_spec_name(spec)
        if name in seen:
            r.add(ipath, f"'{name}' is listed twice ('{seen[name]}' and '{spec}')", "keep one")
        seen[name] = spec
        deps.append(spec)
    section = CondaSection(
        name=r.string(m.get("name"), join(path, "name")),
        channels=channels,
        dependencies=tuple(deps),
        pip=tuple(pip),
        pip_options=tuple(options),
    )
    return section, r.pairs(m.get("variables"), join(path, "variables"))


def _pip_entries(r: Reader, value: object, path: str, pip: list[str], options: list[str]) -> None:
    lines: list[Located] = []
    for j, entry in enumerate(r.items(value, path)):
        epath = join(path, j)
        text = r.string(entry, epath)
        if text is None:
            continue
        for line in parse_pip_entry(text, epath):
            if line.problem:
                r.report(line.problem)
            elif line.include:
                r.add(
                    epath,
                    f"'{text}' names a file, which only load_definition reads",
                    "load the definition with load_definition, or list the packages here",
                )
            elif line.option or line.requirement:
                lines.append(Located(epath, line.option, line.requirement))
    done = combine_pip_lines(lines)
    r.problems += done.problems
    warn_problems(done.warnings)
    options += done.options
    pip += done.requirements


def _spark(r: Reader, value: object) -> SparkSection:
    m = r.mapping(value, "spark")
    if m is None:
        return SparkSection()
    r.known_keys(m, "spark", _SPARK, _ELSEWHERE)
    packages: list[SparkPackage] = []
    for i, item in enumerate(r.items(m.get("packages"), "spark.packages")):
        package = _spark_package(r, item, join("spark.packages", i))
        if package is not None:
            packages.append(package)
    return SparkSection(
        repositories=r.strings(m.get("repositories"), "spark.repositories"),
        packages=tuple(packages),
        precache_packages=r.boolean(m.get("precache_packages"), "spark.precache_packages", True),
    )


def _spark_package(r: Reader, item: object, path: str) -> SparkPackage | None:
    if isinstance(item, str):
        parts = item.strip().split(":")
        if len(parts) != 3:
            r.add(
                path, f"'{item}' is not a Maven coordinate", "write it as 'group:artifact:version'"
            )
            return None
        fields = dict(zip(("group", "artifact", "version"), parts, strict=True))
    else:
        m = r.mapping(item, path)
        if m is None:
            r.add(path, "expected 'group:artifact:version' or a mapping")
            return None
        r.known_keys(m, path, ("group", "artifact", "version"))
        fields = {}
        for key in ("group", "artifact", "version"):
            text = r.string(m.get(key), join(path, key), scalar=True)
            if text is None and key not in m:
                r.add(join(path, key), "is required")
            fields[key] = (text or "").strip()
    bad = [k for k, v in fields.items() if not _MAVEN_PART.fullmatch(v)]
    for key in bad:
        if fields[key]:
            r.add(join(path, key), f"'{fields[key]}' is not a Maven {key}")
    if bad:
        return None
    return SparkPackage(**fields)


def identity_fields(spec: EnvironmentSpec) -> dict[str, Any]:
    """``name``, then ``version``, ``description`` and ``tags`` when set: the
    head of our YAML shape and of the Azure ML v2 document alike."""
    out: dict[str, Any] = {"name": spec.name}
    if spec.version is not None:
        out["version"] = spec.version
    if spec.description is not None:
        out["description"] = spec.description
    if spec.tags:
        out["tags"] = dict(spec.tags)
    return out


def to_dict(spec: EnvironmentSpec) -> dict[str, Any]:
    """Our YAML shape, with default values left out.

    ``parse_definition(to_dict(s)) == s`` except for
    ``docker.resolved_base_digest``, which users never write.
    """
    out = identity_fields(spec)
    py: dict[str, Any] = {}
    if spec.python.user_managed:
        py["user_managed"] = True
    if spec.python.interpreter_path is not None:
        py["interpreter_path"] = spec.python.interpreter_path
    if spec.python.conda is not None:
        py["conda"] = conda_to_dict(spec.python.conda)
    if py:
        out["python"] = py
    d = spec.docker
    docker: dict[str, Any] = {
        k: v
        for k, v in (
            ("base_image", d.base_image),
            ("base_dockerfile", d.base_dockerfile),
            ("steps", list(d.steps)),
            ("shm_size", d.shm_size),
            ("arguments", list(d.arguments)),
            ("platform", d.platform),
            ("build_context", d.build_context),
        )
        if v
    }
    if d.build_context and d.context_files is not None:
        docker["context_files"] = [str(f) for f in d.context_files]
    if docker:
        out["docker"] = docker
    s = spec.spark
    spark: dict[str, Any] = {}
    if s.repositories:
        spark["repositories"] = list(s.repositories)
    if s.packages:
        spark["packages"] = [
            {"group": p.group, "artifact": p.artifact, "version": p.version} for p in s.packages
        ]
    if not s.precache_packages:
        spark["precache_packages"] = False
    if spark:
        out["spark"] = spark
    if spec.environment_variables:
        out["environment_variables"] = dict(spec.environment_variables)
    return out


def conda_to_dict(conda: CondaSection) -> dict[str, Any]:
    """The conda ``environment.yml`` shape of a conda section: options first
    in the pip list, then the requirements."""
    out: dict[str, Any] = {}
    if conda.name is not None:
        out["name"] = conda.name
    if conda.channels:
        out["channels"] = list(conda.channels)
    deps: list[Any] = list(conda.dependencies)
    if conda.pip or conda.pip_options:
        deps.append({"pip": [*conda.pip_options, *conda.pip]})
    if deps:
        out["dependencies"] = deps
    return out
