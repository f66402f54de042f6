"""The valid folders the hostile corpus starts from, one per format the
product reads, and the fragments and values its mutations put in them.

Formats (every reader of ``pulumi_mlenv.definition``, and the program's
inputs): our YAML (``mlenv.yml`` naming a conda file), our YAML with a base
Dockerfile, steps and a build context (``dockerfile``), conda
``environment.yml``, pip ``requirements.txt`` (``-r`` and ``-c`` includes),
Azure ML v2 (``conda_file``) and v2 with a ``build:`` context, the Azure ML v1
folder (``azureml_environment.json``, ``conda_dependencies.yml``,
``BaseDockerfile``), an MLflow model folder (``MLmodel``,
``python_env.yaml``, ``requirements.txt``), and the inline inputs of a
Pulumi program's ``Environment`` (a JSON document here).

``{OUT}`` in a fragment stands for the absolute path of the secret file
beside the folder; ``hostile.lay_out`` writes it in.
"""

from __future__ import annotations

import json
from typing import Any

#: Written beside every corpus folder; must never appear in an error.
SECRET = "TOPSECRET-beside-the-definition"
#: A credential written into URLs; must never appear in an error.
TOKEN = "s3cr3t-fuzz-token"
CREDS = f"https://bob:{TOKEN}@pypi.example.com/simple"

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
        "constraints.txt": "numpy<3\n",
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
        "BaseDockerfile": "FROM python:3.11-slim\nRUN pip install numpy==2.1.3\n",
    },
    "azureml-v2-build": {
        "environment.yml": """$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json
name: custom-image
version: 1
build:
  path: ctx
  dockerfile_path: Dockerfile
description: Built from a Dockerfile.
""",
        "ctx/Dockerfile": (
            "FROM python:3.11-slim\nCOPY app.py /app/\nRUN pip install numpy==2.1.3\n"
        ),
        "ctx/app.py": "print('hi')\n",
        "ctx/.dockerignore": "*.pyc\n",
    },
    "dockerfile": {
        "mlenv.yml": """name: with-dockerfile
docker:
  base_dockerfile: |
    FROM python:3.11-slim AS base
    RUN apt-get update && apt-get install -y --no-install-recommends libgomp1
    FROM base
    COPY app.py /app/app.py
  build_context: ctx
  steps:
    - ENV OMP_NUM_THREADS=4
    - RUN pip install --no-cache-dir uvicorn==0.32.0
python:
  conda:
    dependencies:
      - python=3.11
      - pip:
          - numpy==2.1.3
""",
        "ctx/app.py": "print('hi')\n",
        "ctx/.dockerignore": "*.pyc\n",
    },
    "mlflow": {
        "MLmodel": (
            "artifact_path: model\nflavors:\n"
            "  python_function: {env: {virtualenv: python_env.yaml}}\n"
        ),
        "python_env.yaml": """python: 3.11.9
build_dependencies:
  - pip==24.2
  - setuptools==75.1.0
dependencies:
  - -r requirements.txt
""",
        "requirements.txt": "mlflow==2.17.2\nscikit-learn==1.5.2\n",
        "constraints.txt": "numpy<3\n",
        "conda.yaml": _CONDA.replace("      - -r extra.txt\n", ""),
    },
    "inputs": {
        "inputs.json": json.dumps(
            {
                "name": "from-program",
                "version": "3",
                "description": "Inline in a Pulumi program.",
                "tags": {"team": "growth"},
                "python": {
                    "conda": {
                        "channels": ["conda-forge"],
                        "dependencies": [
                            "python=3.11",
                            {
                                "pip": [
                                    "--extra-index-url https://pypi.internal.example.com/simple",
                                    "numpy==2.1.3",
                                    "pydantic==2.9.2",
                                ]
                            },
                        ],
                    }
                },
                "docker": {"base_image": "python:3.11-slim", "steps": ["RUN echo hi > /hi"]},
                "environment_variables": {"TZ": "UTC"},
            },
            indent=2,
        ),
    },
}

#: The file each format is loaded through (``.`` is the folder itself).
TARGETS = {
    "mlenv": "mlenv.yml",
    "conda": "environment.yml",
    "requirements": "requirements.txt",
    "azureml-v2": "environment.yml",
    "azureml-v1": ".",
    "azureml-v2-build": "environment.yml",
    "dockerfile": "mlenv.yml",
    "mlflow": ".",
    "inputs": "inputs.json",
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
    "-r {OUT}",
    "-c {OUT}",
    "--constraint ../secret.txt",
    "--constraint={OUT}",
    "--requirement {OUT}",
    "-r\t../secret.txt",
    "-r outdir/secret.txt",
    "-r abslink",
    "-c escape",
    "-r file:///etc/passwd",
    "-e ../",
    "-e file://{OUT}",
    "numpy @ file://{OUT}",
    "  - -c ../secret.txt",
    "  - -r {OUT}",
    "conda_file: {OUT}",
    "conda_file: outdir/secret.txt",
    "  condaDependenciesFile: ../secret.txt",
    "build: {path: outdir}",
    "build: {path: /}",
    "build: {path: ctx, dockerfile_path: ../../secret.txt}",
    "build: {path: ctx, dockerfile_path: {OUT}}",
    "  build_context: ..",
    "  build_context: /",
    "  build_context: outdir",
    "  build_context: {OUT}",
    "  base_dockerfile: ../secret.txt",
    "    FROM {OUT}",
    "    COPY ../secret.txt /s",
    "    RUN cat /etc/passwd $(id) `id`",
    "  - RUN x\nRUN y",
    "  - FROM scratch",
    "  - ONBUILD RUN id",
    "  - MAINTAINER x",
    '  - "RUN echo hi \\\\"',
    '  - "\\u0000"',
    '  - "x\\u2028y"',
    "dependencies: [-r {OUT}]",
    "dependencies: [-r ../secret.txt, -c escape]",
    "build_dependencies: [-r abslink]",
    "python: 3.11.9\x00",
    "python: 3." + "1" * 5000,
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
