"""Validation: every problem at once, each with its field path and a fix."""

from __future__ import annotations

from typing import Any

import pytest
from _defs import definition

from pulumi_mlenv.definition import parse_definition, to_dict
from pulumi_mlenv.errors import SpecError

# (case, definition, expected path, text in message, text in fix)
INVALID: list[tuple[str, dict[str, Any], str, str, str]] = [
    (
        "conda-style pin in pip",
        definition(pip=["pandas==2.2.3", "numpy=1.26.4"]),
        "python.conda.dependencies[2].pip[1]",
        "'numpy=1.26.4' is not a valid pip requirement",
        "did you mean 'numpy==1.26.4'?",
    ),
    (
        "space instead of ==",
        definition(pip=["numpy 1.26.4"]),
        "python.conda.dependencies[2].pip[0]",
        "not a valid pip requirement",
        "'numpy==1.26.4'",
    ),
    (
        "local path",
        definition(pip=["./libs/features"]),
        "python.conda.dependencies[2].pip[0]",
        "local path",
        "publish",
    ),
    (
        "editable install",
        definition(pip=["-e git+https://x.org/a.git#egg=a"]),
        "python.conda.dependencies[2].pip[0]",
        "editable",
        "released version",
    ),
    (
        "unknown pip option",
        definition(pip=["--user"]),
        "python.conda.dependencies[2].pip[0]",
        "not a supported pip option",
        "--extra-index-url",
    ),
    (
        "-r without a file context",
        definition(pip=["-r requirements.txt"]),
        "python.conda.dependencies[2].pip[0]",
        "only load_definition reads",
        "load_definition",
    ),
    (
        "a package pinned twice to two versions",
        definition(pip=["numpy==1.26.4", "NumPy==2.0.0"]),
        "python.conda.dependencies[2].pip[1]",
        "conflicts with 'numpy==1.26.4' (python.conda.dependencies[2].pip[0])",
        "keep one",
    ),
    (
        "bad conda spec",
        definition(conda=["python=3.11", "num py??"]),
        "python.conda.dependencies[1]",
        "not a conda package spec",
        "name=1.2",
    ),
    (
        "channel twice",
        definition(channels=["conda-forge", "conda-forge"]),
        "python.conda.channels[1]",
        "listed twice",
        "remove",
    ),
    (
        "user-managed with conda dependencies",
        {
            **definition(pip=["numpy==1.26.4"]),
            "python": {
                "user_managed": True,
                "interpreter_path": "/usr/bin/python3",
                "conda": {"dependencies": ["numpy"]},
            },
        },
        "python.conda",
        "installs nothing",
        "user_managed: false",
    ),
    (
        "user-managed without interpreter",
        {"name": "a", "python": {"user_managed": True}},
        "python.interpreter_path",
        "required when python.user_managed is true",
        "/usr/bin/python3",
    ),
    (
        "both base image and Dockerfile",
        {
            "name": "a",
            "docker": {"base_image": "python:3.11", "base_dockerfile": "FROM python:3.11"},
        },
        "docker.base_dockerfile",
        "both base_image and base_dockerfile",
        "keep one",
    ),
    (
        "unknown top-level field",
        {"name": "a", "pyhton": {}},
        "pyhton",
        "unknown field",
        "did you mean 'python'?",
    ),
    (
        "camelCase field",
        {"name": "a", "docker": {"baseImage": "python:3.11"}},
        "docker.baseImage",
        "unknown field",
        "did you mean 'base_image'?",
    ),
    (
        "field in the wrong section",
        {"name": "a", "base_image": "python:3.11"},
        "base_image",
        "unknown field",
        "did you mean 'docker.base_image'?",
    ),
    (
        "missing name",
        {"docker": {"base_image": "python:3.11"}},
        "name",
        "is required",
        "name: my-env",
    ),
    ("invalid name", {"name": "my env!"}, "name", "not a valid name", "'my-env'"),
    (
        "curated prefix, not curated",
        {"name": "mlenv-curated-sklaern"},
        "name",
        "reserved",
        "mlenv-curated-sklearn",
    ),
    (
        "upper-case image",
        {"name": "a", "docker": {"base_image": "Python:3.11"}},
        "docker.base_image",
        "not an image reference",
        "'python:3.11'",
    ),
    (
        "FROM in a step",
        {"name": "a", "docker": {"steps": ["FROM alpine"]}},
        "docker.steps[0]",
        "new stage",
        "base_dockerfile",
    ),
    (
        "step without instruction",
        {"name": "a", "docker": {"steps": ["apt-get install -y git"]}},
        "docker.steps[0]",
        "not a Dockerfile instruction",
        "RUN apt-get install -y git",
    ),
    (
        "bad shm size",
        {"name": "a", "docker": {"shm_size": "lots"}},
        "docker.shm_size",
        "not a size",
        "2g",
    ),
    (
        "bad platform",
        {"name": "a", "docker": {"platform": "amd64"}},
        "docker.platform",
        "not a platform",
        "linux/amd64",
    ),
    (
        "bad spark coordinate",
        {"name": "a", "spark": {"packages": ["org.apache.spark:spark-avro"]}},
        "spark.packages[0]",
        "not a Maven coordinate",
        "group:artifact:version",
    ),
    (
        "spark mapping without version",
        {"name": "a", "spark": {"packages": [{"group": "g", "artifact": "a"}]}},
        "spark.packages[0].version",
        "is required",
        "",
    ),
    (
        "wrong type",
        {"name": "a", "python": {"user_managed": "yes"}},
        "python.user_managed",
        "expected true or false",
        "",
    ),
    (
        "conda_file in a mapping",
        {"name": "a", "python": {"conda_file": "environment.yml"}},
        "python.conda_file",
        "only read by load_definition",
        "inline it",
    ),
    (
        "digest written by hand",
        {"name": "a", "docker": {"resolved_base_digest": "sha256:" + "0" * 64}},
        "docker.resolved_base_digest",
        "set by the provider",
        "@sha256",
    ),
    (
        "bad variable name",
        {"name": "a", "environment_variables": {"MY-VAR": "1"}},
        "environment_variables.MY-VAR",
        "not a valid variable name",
        "",
    ),
]


@pytest.mark.parametrize(
    ("case", "data", "path", "message", "fix"), INVALID, ids=[c[0] for c in INVALID]
)
def test_invalid_definitions_say_where_what_and_how(
    case: str, data: dict[str, Any], path: str, message: str, fix: str
) -> None:
    with pytest.raises(SpecError) as err:
        parse_definition(data)
    matching = [p for p in err.value.problems if p.path == path]
    assert matching, f"{case}: no problem at {path}: {err.value}"
    assert message in matching[0].message
    assert fix in matching[0].fix


def test_every_problem_is_reported_at_once() -> None:
    data = {
        "name": "a",
        "pyhton": {},
        "docker": {"base_image": "python:3.11", "base_dockerfile": "FROM x", "steps": ["FROM y"]},
        "python": {"conda": {"dependencies": [{"pip": ["numpy=1.26.4", "pandas=2.2.3"]}]}},
    }
    with pytest.raises(SpecError) as err:
        parse_definition(data)
    paths = {p.path for p in err.value.problems}
    assert paths == {
        "pyhton",
        "docker.base_dockerfile",
        "docker.steps[0]",
        "python.conda.dependencies[0].pip[0]",
        "python.conda.dependencies[0].pip[1]",
    }
    assert str(err.value).count("\n") == 4


def test_the_message_reads_like_the_issue_example() -> None:
    with pytest.raises(SpecError) as err:
        parse_definition(
            definition(conda=["python=3.11", "pip", "libgomp", {"pip": ["numpy=1.26.4"]}])
        )
    assert str(err.value) == (
        "python.conda.dependencies[3].pip[0]: 'numpy=1.26.4' is not a valid pip requirement; "
        "did you mean 'numpy==1.26.4'?"
    )


VALID_ROUND_TRIPS = [
    definition(pip=["numpy==1.26.4", "--extra-index-url https://pypi.example.com/simple"]),
    {
        "name": "um",
        "version": 3,
        "python": {"user_managed": True, "interpreter_path": "/opt/py/bin/python"},
        "docker": {"base_dockerfile": "FROM ubuntu:24.04\nRUN apt-get update\n"},
    },
    {
        "name": "sp",
        "tags": {"n": 1},
        "spark": {
            "repositories": ["https://repo1.maven.org/maven2"],
            "packages": [{"group": "io.delta", "artifact": "delta-spark_2.12", "version": "3.2.1"}],
            "precache_packages": False,
        },
        "environment_variables": {"TZ": "UTC", "EMPTY": ""},
    },
    {
        "name": "d",
        "docker": {
            "base_image": "127.0.0.1:5000/mlenv/python:3.11-bookworm",
            "steps": ["RUN apt-get update && \\\n    apt-get install -y git"],
            "shm_size": "2g",
            "arguments": ["--ipc=host"],
            "platform": "linux/amd64",
        },
    },
]


@pytest.mark.parametrize("data", VALID_ROUND_TRIPS)
def test_to_dict_round_trips(data: dict[str, Any]) -> None:
    spec = parse_definition(data)
    assert parse_definition(to_dict(spec)) == spec


def test_canonical_forms_are_stored() -> None:
    spec = parse_definition(
        definition(pip=["Scikit_Learn [Pandas] == 1.05.2 ; python_version >= '3.9'"])
    )
    assert spec.python.conda is not None
    assert spec.python.conda.pip == ('scikit-learn[pandas]==1.5.2; python_version >= "3.9"',)


def test_conda_variables_join_environment_variables() -> None:
    data = definition()
    data["python"]["conda"]["variables"] = {"OMP_NUM_THREADS": 4}
    assert parse_definition(data).environment_variables == (("OMP_NUM_THREADS", "4"),)
