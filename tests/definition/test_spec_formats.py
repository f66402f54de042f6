"""Reading every supported format, detecting it, and writing it back with
the same hash."""

from __future__ import annotations

from pathlib import Path

import pytest
from _defs import FIXTURES, definition

from pulumi_mlenv.definition import (
    Format,
    compute_hash,
    detect_format,
    dump_definition,
    load_definition,
    parse_definition,
    write_azureml_v1_folder,
)
from pulumi_mlenv.errors import SpecError

F = FIXTURES / "formats"

DETECT = [
    (F / "conda-environment" / "environment.yml", Format.CONDA),
    (F / "requirements" / "requirements.txt", Format.REQUIREMENTS),
    (F / "azureml-v2-image" / "environment.yml", Format.AZUREML_V2),
    (F / "azureml-v2-build" / "environment.yml", Format.AZUREML_V2),
    (F / "azureml-v1-saved", Format.AZUREML_V1),
    (F / "azureml-v1-saved" / "azureml_environment.json", Format.AZUREML_V1),
    (F / "mlenv-conda-file" / "mlenv.yml", Format.MLENV),
    (F / "mlenv-conda-file", Format.MLENV),
    (F / "requirements", Format.REQUIREMENTS),
]


@pytest.mark.parametrize(
    ("path", "fmt"), DETECT, ids=[f"{p.parent.name}/{p.name}" for p, _ in DETECT]
)
def test_detect_format(path: Path, fmt: Format) -> None:
    assert detect_format(path) is fmt


def test_conda_environment_with_extra_index_and_include() -> None:
    spec = load_definition(F / "conda-environment" / "environment.yml")
    conda = spec.python.conda
    assert conda is not None
    assert spec.name == conda.name == "fraud-detection"
    assert conda.channels == ("conda-forge", "nodefaults")
    assert conda.dependencies == ("python=3.11", "pip=24.2", "libgomp=14.2.0")
    assert conda.pip_options == ("--extra-index-url https://pypi.internal.example.com/simple",)
    assert conda.pip == (
        "pandas==2.2.3",
        "pyarrow==18.1.0",
        "lightgbm==4.5.0",
        "fraud-features==0.8.1",
    )
    assert spec.environment_variables == (("OMP_NUM_THREADS", "4"),)


def test_requirements_with_includes_options_hashes_and_continuations() -> None:
    spec = load_definition(F / "requirements" / "requirements.txt")
    conda = spec.python.conda
    assert conda is not None
    assert spec.name == "requirements"  # the folder: "requirements" is a generic stem
    assert conda.pip_options == (
        "--index-url https://pypi.org/simple",
        "--extra-index-url https://pypi.internal.example.com/simple",
    )
    assert conda.pip == (
        "numpy==2.1.3",
        "pydantic==2.9.2",
        "fastapi==0.115.4",
        "uvicorn[standard]==0.32.0",
    )


def test_requirements_problems_point_at_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "numpy==2.1.3\n\npandas=2.2.3\n-r missing.txt\n-c constraints.txt\n"
    )
    with pytest.raises(SpecError) as err:
        load_definition(tmp_path / "requirements.txt")
    paths = [p.path for p in err.value.problems]
    assert paths == ["requirements.txt:3", "requirements.txt:4", "requirements.txt:5"]
    assert err.value.problems[0].fix == "did you mean 'pandas==2.2.3'?"


def test_requirements_include_loop(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\n")
    (tmp_path / "b.txt").write_text("-r a.txt\nnumpy==2.1.3\n")
    with pytest.raises(SpecError, match="a -r loop"):
        load_definition(tmp_path / "a.txt")


def test_azureml_v2_with_image_and_conda_file() -> None:
    spec = load_definition(F / "azureml-v2-image" / "environment.yml")
    assert (spec.name, spec.version) == ("sklearn-inference", "4")
    assert (
        spec.docker.base_image == "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:20241001.v1"
    )
    assert spec.python.conda is not None
    assert spec.python.conda.pip == ("azureml-inference-server-http==1.3.4", "scikit-learn==1.5.2")
    assert spec.tags == (("team", "scoring"),)


def test_azureml_v2_with_build_context() -> None:
    spec = load_definition(F / "azureml-v2-build" / "environment.yml")
    assert spec.docker.base_image is None
    assert spec.docker.base_dockerfile is not None
    assert spec.docker.base_dockerfile.startswith("FROM python:3.11-slim\n")


def test_azureml_v1_folder() -> None:
    spec = load_definition(F / "azureml-v1-saved")
    assert (spec.name, spec.version) == ("spark-feature-job", "7")
    assert spec.docker.platform is None  # the SDK default, written in every saved folder
    assert spec.python.conda is not None
    assert spec.python.conda.channels == ("anaconda", "conda-forge")
    assert spec.python.conda.pip_options == (
        "--extra-index-url https://pypi.internal.example.com/simple",
    )
    assert [str(p) for p in spec.spark.packages] == ["org.apache.spark:spark-avro_2.12:3.5.3"]
    assert spec.environment_variables == (("EXAMPLE_ENV_VAR", "EXAMPLE_VALUE"),)


def test_mlenv_with_conda_file() -> None:
    spec = load_definition(F / "mlenv-conda-file")
    assert spec.name == "forecasting"
    assert spec.python.conda is not None and spec.python.conda.pip[0] == "statsforecast==1.7.8"
    assert len(spec.spark.packages) == 2


ROUND_TRIPS = [
    (
        F / "conda-environment" / "environment.yml",
        [Format.MLENV, Format.CONDA, Format.AZUREML_V2, Format.AZUREML_V1],
    ),
    (
        F / "requirements" / "requirements.txt",
        [Format.MLENV, Format.CONDA, Format.REQUIREMENTS, Format.AZUREML_V2],
    ),
    (
        F / "azureml-v2-image" / "environment.yml",
        [Format.MLENV, Format.AZUREML_V2, Format.AZUREML_V1],
    ),
    (F / "azureml-v2-build" / "environment.yml", [Format.MLENV, Format.AZUREML_V1]),
    (F / "azureml-v1-saved", [Format.MLENV, Format.AZUREML_V1]),
    (F / "mlenv-conda-file", [Format.MLENV]),
]


@pytest.mark.parametrize(
    ("path", "formats"), ROUND_TRIPS, ids=[p.parent.name + "/" + p.name for p, _ in ROUND_TRIPS]
)
def test_write_then_read_gives_the_same_hash(
    path: Path, formats: list[Format], tmp_path: Path
) -> None:
    spec = load_definition(path)
    names = {
        Format.MLENV: "mlenv.yml",
        Format.CONDA: "environment.yml",
        Format.REQUIREMENTS: "requirements.txt",
        Format.AZUREML_V2: "environment.yml",
        Format.AZUREML_V1: "azureml_environment.json",
    }
    for fmt in formats:
        out = tmp_path / fmt.value / names[fmt]
        out.parent.mkdir()
        out.write_text(dump_definition(spec, fmt))
        assert detect_format(out) is fmt
        # A written build context keeps its absolute path: reading it back from
        # elsewhere needs a root that holds it (a definition may not reach out).
        root = Path("/") if spec.docker.build_context else None
        assert compute_hash(load_definition(out, root=root)) == compute_hash(spec), fmt


def test_azureml_v1_folder_written_like_save_to_directory(tmp_path: Path) -> None:
    spec = load_definition(F / "azureml-v1-saved")
    folder = write_azureml_v1_folder(spec, tmp_path / "saved")
    assert sorted(p.name for p in folder.iterdir()) == [
        "azureml_environment.json",
        "conda_dependencies.yml",
    ]
    assert load_definition(folder) == spec


# (what cannot be carried, format, the reason listed)
LOSSY = [
    ({"docker": {"steps": ["RUN echo hi"]}}, Format.CONDA, "docker steps: line 1 removed"),
    ({"docker": {"steps": ["RUN echo hi"]}}, Format.AZUREML_V2, "docker steps: line 1 removed"),
    ({"spark": {"packages": ["g:a:1"]}}, Format.AZUREML_V2, "spark: removed g:a:1"),
    (
        {"docker": {"base_image": "python:3.12"}},
        Format.REQUIREMENTS,
        "base image: python:3.12 -> (default)",
    ),
]


@pytest.mark.parametrize(("extra", "fmt", "reason"), LOSSY)
def test_writers_refuse_what_their_format_cannot_carry(
    extra: dict[str, object], fmt: Format, reason: str
) -> None:
    spec = parse_definition(definition(pip=["numpy==2.1.3"], **extra))
    with pytest.raises(SpecError) as err:
        dump_definition(spec, fmt)
    assert reason in err.value.problems[0].message
    assert "mlenv" in err.value.problems[0].fix


def test_file_errors_are_spec_errors(tmp_path: Path) -> None:
    bad = tmp_path / "env.yml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_definition(bad)
    with pytest.raises(SpecError, match="no such file"):
        load_definition(tmp_path / "missing.yml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError, match="holds no definition"):
        load_definition(tmp_path / "empty")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_definition(tmp_path)  # a folder with one YAML file is that file


def test_problems_in_a_conda_file_are_labelled_with_the_file(tmp_path: Path) -> None:
    (tmp_path / "environment.yml").write_text(
        "channels: [conda-forge]\ndependencies:\n  - pip:\n      - numpy=1.26.4\n"
    )
    with pytest.raises(SpecError) as err:
        load_definition(tmp_path / "environment.yml")
    assert err.value.problems[0].path == "environment.yml: dependencies[0].pip[0]"


def test_name_defaults_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "churn model.yml").write_text("docker: {base_image: 'python:3.11'}\n")
    assert load_definition(tmp_path / "churn model.yml").name == "churn-model"
