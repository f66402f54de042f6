"""A generated corpus of broken and hostile definition folders, every format.

Deterministic (a fixed seed): each case starts from a valid folder of one
format and applies one to three mutations (a hostile fragment inserted or
swapped in, lines deleted, duplicated or cut, bytes flipped, a field of the
parsed document replaced by a value of the wrong type), so most cases are
*almost* valid and reach deep into the readers. The folder also holds a FIFO,
a symlink escaping it, a self-including file and a subfolder, so fragments
that name them exercise every refusal. Used by ``test_spec_fuzz_hostile.py``
and ``benchmarks/bench_hostile.py``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

#: Written beside every corpus folder; must never appear in an error.
SECRET = "TOPSECRET-beside-the-definition"
#: A credential written into URLs; must never appear in an error.
TOKEN = "s3cr3t-fuzz-token"
CREDS = f"https://bob:{TOKEN}@pypi.example.com/simple"

SEED = 20261128
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_CONDA = """name: model-env
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip=24.2
  - libgomp=14.2.0
  - pip:
      - --extra-index-url https://pypi.internal.example.com/simple
      - -r extra.txt
      - lightgbm==4.5.0
      - scikit-learn==1.5.2
variables:
  OMP_NUM_THREADS: "4"
"""

SEEDS: dict[str, dict[str, str]] = {
    "mlenv": {
        "mlenv.yml": """name: forecasting
version: "2"
description: Demand forecasting.
tags: {team: growth}
python:
  conda_file: conda.yml
docker:
  base_image: python:3.11-slim
  steps:
    - RUN apt-get update && apt-get install -y --no-install-recommends libgomp1
  shm_size: 2g
  platform: linux/amd64
spark:
  repositories: [https://repo1.maven.org/maven2]
  packages:
    - org.apache.spark:spark-avro_2.12:3.5.3
    - {group: io.delta, artifact: delta-spark_2.12, version: 3.2.1}
environment_variables:
  TZ: UTC
""",
        "conda.yml": _CONDA,
        "extra.txt": "numpy==2.1.3\npydantic==2.9.2\n",
    },
    "conda": {
        "environment.yml": _CONDA,
        "extra.txt": "numpy==2.1.3\n-r base.txt\n",
        "base.txt": "pydantic==2.9.2\n",
    },
    "requirements": {
        "requirements.txt": """# Service requirements (pip-compile output, trimmed)
--index-url https://pypi.org/simple
--extra-index-url=https://pypi.internal.example.com/simple
-r base.txt

fastapi==0.115.4 \\
    --hash=sha256:db653475586b091cb8b2fec2ac54a680ac6a158e07406e1abae31679e8826349
uvicorn[standard]==0.32.0  # server
torch>=2.1,<3; python_version >= "3.10"
""",
        "base.txt": "numpy==2.1.3\npydantic==2.9.2\n",
    },
    "azureml-v2": {
        "environment.yml": """$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json
name: sklearn-inference
version: 4
image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:20241001.v1
conda_file: conda.yml
description: Environment for the sklearn scoring endpoint.
tags:
  team: scoring
inference_config:
  liveness_route: {port: 5001, path: /}
""",
        "conda.yml": _CONDA,
        "extra.txt": "numpy==2.1.3\n",
        "ctx/Dockerfile": "FROM python:3.11-slim\nRUN pip install numpy==2.1.3\n",
    },
    "azureml-v1": {
        "azureml_environment.json": json.dumps(
            {
                "name": "spark-feature-job",
                "version": "7",
                "environmentVariables": {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"},
                "python": {
                    "userManagedDependencies": False,
                    "interpreterPath": "python",
                    "condaDependencies": None,
                    "condaDependenciesFile": None,
                    "baseCondaEnvironment": None,
                },
                "docker": {
                    "baseImage": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:20230509.v1",
                    "baseDockerfile": None,
                    "baseImageRegistry": {"address": None, "username": None, "password": None},
                    "platform": {"os": "Linux", "architecture": "amd64"},
                    "shmSize": None,
                    "arguments": [],
                },
                "spark": {
                    "repositories": ["https://repo1.maven.org/maven2"],
                    "packages": [
                        {"group": "org.apache.spark", "artifact": "spark-avro_2.12", "version": "3"}
                    ],
                    "precachePackages": True,
                },
                "databricks": {"mavenLibraries": [], "pypiLibraries": []},
                "r": None,
            },
            indent=4,
        ),
        "conda_dependencies.yml": _CONDA.replace("      - -r extra.txt\n", ""),
    },
}

#: The file each format is loaded through (``.`` is the folder itself).
TARGETS = {
    "mlenv": "mlenv.yml",
    "conda": "environment.yml",
    "requirements": "requirements.txt",
    "azureml-v2": "environment.yml",
    "azureml-v1": ".",
}

_LAUGHS = "\n".join(
    ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
)

#: Fragments written into files: hostile paths, bombs, long values, odd YAML.
FRAGMENTS: list[str] = [
    "-r /proc/self/environ",
    "-r ../../etc/shadow",
    "-r ../secret.txt",
    "-r /dev/zero",
    "-r pipe",
    "-r escape",
    "-r loop.txt",
    "-r sub",
    "-r sub/../../secret.txt",
    "--requirement=../secret.txt",
    "-c constraints.txt",
    "-e .",
    "-r " + "a" * 300,
    "  - -r ../secret.txt",
    "      - -r /proc/self/environ",
    "  conda_file: /dev/zero",
    "conda_file: ../../etc/shadow",
    "conda_file: escape",
    "conda_file: pipe",
    "build: {path: ., dockerfile_path: ../../etc/shadow}",
    "build: {path: .., dockerfile_path: secret.txt}",
    "build: {path: ctx}",
    _LAUGHS,
    "tags: {x: *l9}",
    "x: " + "[" * 40 + "]" * 40,
    "x: " + "[" * 3000,
    "x: " + "{a: " * 50 + "1" + "}" * 50,
    "version: " + "9" * 5000,
    "version: 1_" + "1" * 4999,
    "  - numpy==1.0a" + "1" * 5000,
    "  - python=3." + "1" * 5000,
    "numpy>=1.0.post" + "1" * 5000,
    "version: 2024-13-01",
    "version: !!int abc",
    "name: !!python/object/apply:os.system [id]",
    "x: &a [*a]",
    "x: &a {y: *a}",
    "x: *undefined",
    "<<: *l0",
    "? [a, b]\n: c",
    "---\nname: b\n---",
    "\t- tab",
    "name: a\x00b",
    "\ufeffname: bom",
    "description: " + "x" * 20_000,
    "a" * 16_000 + ";",
    "a" + " " * 16_000 + ";",
    f"numpy @ {CREDS}/n.whl ; ((",
    f"--index-url {CREDS}",
    f"-e git+{CREDS}/r.git#egg=r",
    f"  - {CREDS}/numpy",
    f"      - --extra-index-url {CREDS}",
    "x \\\n" * 500 + "y",
    "numpy==1.0 \\",
    "  - 3.10",
    "  - true",
    "  - null",
    "  - {pip: 7}",
    "  - [nested, list]",
    "python: yes",
    "python: [1, 2]",
    "docker: 7",
    "{",
    "]",
    "null",
    "1e999",
    "",
]

#: Values swapped into a parsed document (JSON/YAML) at a random path.
VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    3.10,
    float("inf"),
    "",
    "x",
    [],
    {},
    [None],
    {"": None},
    ["-r ../secret.txt"],
    "../../etc/shadow",
    "/dev/zero",
    "pipe",
    "escape",
    "9" * 5000,
    "a" * 20_000,
    CREDS,
    [[[[[[[[[[]]]]]]]]]],
    {"os": None, "architecture": 7},
    {"group": 1, "artifact": [], "version": {}},
    {"pip": [f"numpy @ {CREDS}/x.whl", "numpy==1"]},
]


@dataclass(frozen=True)
class Case:
    """One broken folder: its files (name -> bytes) and what to load."""

    ident: str
    fmt: str
    files: dict[str, bytes]
    target: str


def _insert(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    at = rng.randrange(len(lines) + 1)
    indent = rng.choice(["", "", "  ", "      "])
    lines.insert(at, indent + rng.choice(FRAGMENTS))
    return "\n".join(lines)


def _replace_line(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    at = rng.randrange(len(lines))
    keep = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines[at] = keep + rng.choice(FRAGMENTS)
    return "\n".join(lines)


def _replace_value(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    at = rng.randrange(len(lines))
    head, sep, _ = lines[at].partition(": ")
    value = rng.choice(FRAGMENTS).split("\n")[0]
    lines[at] = f"{head}{sep or ' '}{value}"
    return "\n".join(lines)


def _delete(rng: random.Random, text: str) -> str:
    if not text:
        return text
    a = rng.randrange(len(text))
    return text[:a] + text[a + rng.randint(1, 40) :]


def _duplicate(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    at = rng.randrange(len(lines))
    lines[at : at + 1] = [lines[at]] * rng.choice([2, 10, 1000])
    return "\n".join(lines)


def _truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(len(text) + 1)]


def _swap(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[a], lines[b] = lines[b], lines[a]
    return "\n".join(lines)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if len(path) > 12:  # an earlier mutation may have made it recursive
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


def _structural(rng: random.Random, text: str, name: str) -> str:
    """Replace one field of the parsed document by a value of another type."""
    is_json = name.endswith(".json")
    try:
        doc = json.loads(text) if is_json else yaml.load(text, Loader=_LOADER)
    except (ValueError, RecursionError, yaml.YAMLError):
        return _insert(rng, text)
    paths = [p for p in _paths(doc) if p]
    if not paths:
        return _insert(rng, text)
    path = rng.choice(paths)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = rng.choice(VALUES)
    try:
        if is_json:
            return json.dumps(doc, allow_nan=True)
        return yaml.dump(doc, Dumper=_DUMPER, allow_unicode=True, width=10**6)
    except (RecursionError, ValueError, yaml.YAMLError):
        return _insert(rng, text)


def _flip(rng: random.Random, data: bytes) -> bytes:
    raw = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if raw:
            raw[rng.randrange(len(raw))] = rng.randrange(256)
    return bytes(raw)


_TEXT_MUTATIONS = (_insert, _insert, _replace_line, _replace_value, _delete, _duplicate)
_MORE_MUTATIONS = (_truncate, _swap)


def cases(fmt: str, count: int, seed: int = SEED) -> Iterator[Case]:
    """``count`` broken folders of format ``fmt``, the same on every run."""
    rng = random.Random(f"{seed}-{fmt}")
    seed_files = SEEDS[fmt]
    names = list(seed_files)
    for n in range(count):
        texts = dict(seed_files)
        # Mostly the definition itself; sometimes a file it names.
        name = names[0] if rng.random() < 0.75 else rng.choice(names)
        text = texts[name]
        flip = False
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            if kind < 0.2 and name.endswith((".json", ".yml")):
                text = _structural(rng, text, name)
            elif kind < 0.27:
                flip = True
            elif kind < 0.33:
                text = rng.choice(_MORE_MUTATIONS)(rng, text)
            else:
                text = rng.choice(_TEXT_MUTATIONS)(rng, text)
        texts[name] = text
        files = {k: v.encode("utf-8", "surrogatepass") for k, v in texts.items()}
        if flip:
            files[name] = _flip(rng, files[name])
        yield Case(f"{fmt}-{n}", fmt, files, TARGETS[fmt])
