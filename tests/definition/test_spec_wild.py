"""Definitions as people write them, from real-looking files: each fixture
folder is named after the rule it pins (tests/definition/fixtures/<rule>/)."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest

from pulumi_mlenv.definition import (
    Format,
    compute_hash,
    detect_format,
    dump_definition,
    explain,
    left_out,
    load_definition,
    parse_definition,
    to_dict,
    unpinned_packages,
)
from pulumi_mlenv.errors import DefinitionWarning, SpecError

F = Path(__file__).parent / "fixtures"


def _copy(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(F / name, tmp_path / name))


def _problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as err:
        load_definition(path)
    return [str(p) for p in err.value.problems]


def _load_warned(path: Path) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DefinitionWarning)
        spec = load_definition(path)
    return spec, [str(w.message) for w in caught if w.category is DefinitionWarning]


# 1. A Docker build context is part of the identity.


def test_editing_a_file_the_dockerfile_copies_changes_the_hash_and_explain_names_it(
    tmp_path: Path,
) -> None:
    folder = _copy("build-context-is-identity", tmp_path)
    before = load_definition(folder / "environment.yml")
    assert before.docker.context_files is not None
    assert [f.path for f in before.docker.context_files] == [
        "requirements.txt",
        "scripts/entry.sh",
    ]  # data/ and *.md are in .dockerignore; the Dockerfile is hashed as text
    (folder / "docker-context" / "requirements.txt").write_text("torch==2.4.0\n")
    after = load_definition(folder / "environment.yml")
    assert compute_hash(after) != compute_hash(before)
    assert explain(before, after) == ["build context: requirements.txt changed"]


def test_ignored_files_do_not_count_but_modes_and_new_files_do(tmp_path: Path) -> None:
    folder = _copy("build-context-is-identity", tmp_path)
    context = folder / "docker-context"
    before = load_definition(folder / "environment.yml")
    (context / "data" / "train.csv").write_text("id,label\n1,cat\n")
    (context / "README.md").write_text("# Notes, edited\n")
    assert compute_hash(load_definition(folder / "environment.yml")) == compute_hash(before)
    os.chmod(context / "scripts" / "entry.sh", 0o644)
    (context / "scripts" / "eval.sh").write_text("#!/bin/sh\n")
    after = load_definition(folder / "environment.yml")
    assert explain(before, after) == [
        "build context: added scripts/eval.sh",
        "build context: scripts/entry.sh mode 755 -> 644",
    ]


def test_the_fingerprint_survives_state_so_a_preview_can_name_the_file(tmp_path: Path) -> None:
    folder = _copy("build-context-is-identity", tmp_path)
    before = load_definition(folder / "environment.yml")
    recorded = parse_definition(to_dict(before))  # as Pulumi state keeps it
    assert compute_hash(recorded) == compute_hash(before)
    (folder / "docker-context" / "requirements.txt").write_text("torch==2.4.0\n")
    after = load_definition(folder / "environment.yml")
    assert explain(recorded, after) == ["build context: requirements.txt changed"]


def test_a_context_never_read_is_not_hashed_as_if_it_were_empty(tmp_path: Path) -> None:
    folder = _copy("build-context-is-identity", tmp_path)
    data = to_dict(load_definition(folder / "environment.yml"))
    del data["docker"]["context_files"]
    with pytest.raises(SpecError, match="build_context: has not been read"):
        compute_hash(parse_definition(data))


def test_a_build_context_converts_to_mlenv_and_back_with_its_hash(tmp_path: Path) -> None:
    folder = _copy("build-context-is-identity", tmp_path)
    spec = load_definition(folder / "environment.yml")
    text = dump_definition(spec, Format.MLENV)
    assert "context_files" not in text  # read again from the folder
    (tmp_path / "mlenv.yml").write_text(text)
    assert compute_hash(load_definition(tmp_path / "mlenv.yml")) == compute_hash(spec)
    with pytest.raises(SpecError, match="conda cannot carry"):
        dump_definition(spec, Format.CONDA)


# 2. requirements.txt as pip reads it.


def test_requirements_with_bom_crlf_and_every_option_form(tmp_path: Path) -> None:
    spec = load_definition(F / "requirements-as-pip-reads-them" / "requirements.txt")
    conda = spec.python.conda
    assert conda is not None
    assert conda.pip_options == (
        "--pre",
        "--extra-index-url https://download.pytorch.org/whl/cpu",
        "--index-url https://pypi.org/simple",
        "--trusted-host pypi.org",
        "--only-binary :all:",
    )
    assert conda.pip == ("numpy==1.26.4", "torch==2.3.1", "pillow>=10.0")
    # The same lines, one option a line and plain UTF-8, hash the same.
    plain = tmp_path / "requirements.txt"
    plain.write_text(
        "--pre\n--extra-index-url https://download.pytorch.org/whl/cpu\n"
        "--index-url https://pypi.org/simple\n--trusted-host pypi.org\n"
        "numpy==1.26.4\n--only-binary :all:\ntorch==2.3.1\npillow>=10.0\n"
    )
    assert compute_hash(load_definition(plain)) == compute_hash(spec)


def test_an_include_given_as_a_url_is_refused_with_the_url_and_its_line() -> None:
    problems = _problems(F / "requirements-as-pip-reads-them" / "url-include" / "requirements.txt")
    assert problems == [
        "requirements.txt:2: '-r https://raw.githubusercontent.com/org/repo/main/requirements.txt':"
        " requirement files are not fetched from a URL (the hash would not cover what it serves);"
        " download it next to this file and write '-r <file>'",
        "requirements.txt:3: '-c https://example.com/constraints.txt': constraint files are not"
        " fetched from a URL (the hash would not cover what it serves);"
        " download it next to this file and write '-c <file>'",
    ]


# 3. Direct references.


def test_direct_references_are_accepted_and_honestly_pinned() -> None:
    spec = load_definition(F / "direct-references" / "requirements.txt")
    assert spec.python.conda is not None
    names = [p.split(" @ ")[0].split("==")[0] for p in spec.python.conda.pip]
    assert names == ["six", "internal-tools", "peft", "clip", "accelerate", "requests"]
    assert spec.python.conda.pip[3] == (
        'clip @ git+https://github.com/openai/CLIP.git@main ; sys_platform == "linux"'
    )
    # A digest or a full commit pins; an archive without digest, a branch or a tag does not.
    assert [p.split(" @ ")[0].split(";")[0] for p in unpinned_packages(spec)] == [
        "internal-tools",
        "clip",
        "accelerate",
    ]


@pytest.mark.parametrize(
    ("line", "fix"),
    [
        ("numpy=1.26.4", "did you mean 'numpy==1.26.4"),
        ("numpy 1.26.4", "did you mean 'numpy==1.26.4"),
    ],
)
def test_one_mistake_one_hint_with_or_without_a_marker(line: str, fix: str) -> None:
    fixes = []
    for text in (line, f'{line} ; python_version < "3.12"'):
        data = {"name": "e", "python": {"conda": {"dependencies": [{"pip": [text]}]}}}
        with pytest.raises(SpecError) as err:
            parse_definition(data)
        fixes.append(err.value.problems[0].fix)
    assert fixes[0].startswith(fix) and fixes[1].startswith(fix)
    assert fixes[1].endswith('python_version < "3.12"\'' + ("?" if "mean" in fix else ""))


# 4. Duplicates.


def test_duplicates_across_files_combine_like_pip_with_a_located_warning() -> None:
    spec, warned = _load_warned(F / "duplicates-combine-like-pip" / "requirements.txt")
    assert spec.python.conda.pip == (  # type: ignore[attr-defined]
        "pytest==8.2.2",
        "numpy<2,>=1.20",
        "pandas==2.2.2",
        "scikit-learn==1.5.0",
    )
    assert warned == [
        "requirements.txt:3: 'pandas==2.2.2' is listed twice (also at requirements-test.txt:3);"
        " remove one"
    ]


def test_a_real_conflict_is_an_error_at_both_lines() -> None:
    problems = _problems(F / "duplicates-combine-like-pip" / "conflict" / "requirements.txt")
    assert problems == [
        "requirements.txt:3: 'numpy==2.0.0' conflicts with 'numpy==1.26.4' (requirements.txt:1):"
        " no version satisfies both; keep one of the two lines"
    ]


@pytest.mark.parametrize(
    ("lines", "ok"),
    [
        (["numpy>=2", "numpy<1.5"], False),
        (["numpy>=1.5", "numpy<=1.5"], True),
        (["numpy>1.5", "numpy<=1.5"], False),
        (["numpy==1.26.4", "numpy<2"], True),
        (["numpy==2.1.0", "numpy~=1.26"], False),
        (["numpy[extra]>=1", "numpy<2"], True),
        (["numpy @ https://x.org/numpy-1.0-py3-none-any.whl", "numpy==1.0"], False),
    ],
)
def test_only_specifiers_no_version_satisfies_are_conflicts(lines: list[str], ok: bool) -> None:
    data = {"name": "e", "python": {"conda": {"dependencies": [{"pip": lines}]}}}
    if ok:
        assert len(parse_definition(data).python.conda.pip) == 1  # type: ignore[union-attr]
    else:
        with pytest.raises(SpecError, match="conflicts with"):
            parse_definition(data)


# 5. Azure ML v1 -> v2.


def test_a_v1_folder_hashes_like_its_v2_move_and_converts(tmp_path: Path) -> None:
    v1 = F / "azureml-v1-to-v2-same-hash" / "v1-saved"
    v2 = F / "azureml-v1-to-v2-same-hash" / "environment.yml"
    assert compute_hash(load_definition(v1)) == compute_hash(load_definition(v2))
    spec = load_definition(v1)
    assert spec.docker.platform is None  # the SDK's default, in every saved folder
    converted = tmp_path / "environment.yml"
    converted.write_text(dump_definition(spec, Format.AZUREML_V2))
    assert compute_hash(load_definition(converted)) == compute_hash(spec)
    assert left_out(spec, Format.CONDA) == [
        "base image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:20230509.v1 -> (default)"
    ]
    conda = tmp_path / "conda.yml"
    conda.write_text(dump_definition(spec, Format.CONDA, partial=True))
    assert load_definition(conda).python.conda == spec.python.conda


def test_a_chosen_v1_platform_is_kept(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(F / "azureml-v1-to-v2-same-hash" / "v1-saved", tmp_path / "v1"))
    doc = folder / "azureml_environment.json"
    doc.write_text(doc.read_text().replace('"amd64"', '"arm64"'))
    assert load_definition(folder).docker.platform == "linux/arm64"
    with pytest.raises(SpecError, match="azureml-v2 cannot carry"):
        dump_definition(load_definition(folder), Format.AZUREML_V2)


# 6. More formats.


def test_an_mlflow_model_folder_reads_its_python_env_and_requirements() -> None:
    folder = F / "mlflow-model-python-env"
    assert detect_format(folder) is Format.MLFLOW
    spec = load_definition(folder)
    assert load_definition(folder / "MLmodel") == spec
    assert spec.name == "mlflow-model-python-env"
    assert spec.python.conda is not None
    assert spec.python.conda.dependencies == ("python=3.10.12", "pip")
    assert spec.python.conda.pip[:3] == ("pip==23.3.1", "setuptools==68.2.2", "wheel==0.41.2")
    assert "scikit-learn==1.3.2" in spec.python.conda.pip
    conda = load_definition(folder / "conda.yaml")
    assert detect_format(folder / "conda.yaml") is Format.CONDA
    assert conda.python.conda is not None and "mlflow==2.9.2" in conda.python.conda.pip


def test_python_env_round_trips(tmp_path: Path) -> None:
    spec = load_definition(F / "mlflow-model-python-env")
    out = tmp_path / "python_env.yaml"
    out.write_text(dump_definition(spec, Format.MLFLOW))
    assert compute_hash(load_definition(out)) == compute_hash(spec)


def test_python_env_problems_point_at_its_own_lines(tmp_path: Path) -> None:
    (tmp_path / "python_env.yaml").write_text(
        "python: 3.11\nbuild_dependencies: [pip]\ndependencies: [numpy=1.26.4, -r extra.txt]\n"
    )
    (tmp_path / "extra.txt").write_text("pandas==2.2.2\n./local-lib\n")
    assert _problems(tmp_path / "python_env.yaml") == [
        "python_env.yaml: dependencies[0]: 'numpy=1.26.4' is not a valid pip requirement;"
        " did you mean 'numpy==1.26.4'?",
        "extra.txt:2: './local-lib' is a local path: its content would not be part of the hash;"
        " publish the package to an index, or use 'name @ https://...'",
    ]


@pytest.mark.parametrize(
    ("name", "text", "looks_like"),
    [
        ("Pipfile", '[packages]\nnumpy = "*"\n', "a Pipfile (pipenv)"),
        ("pyproject.toml", '[project]\nname = "x"\n', "a Python project file"),
        ("explicit.txt", "@EXPLICIT\nhttps://conda.anaconda.org/x.conda\n", "a conda explicit"),
        ("env.json", '{"python": {"userManagedDependencies": false}}', "an Azure ML v1"),
        (
            "conda-lock.yml",
            "version: 1\nmetadata: {}\npackage: []\n",
            "a conda-lock file",
        ),
        ("model.yaml", "artifact_path: model\nflavors: {}\n", "an MLflow MLmodel file"),
    ],
)
def test_a_lookalike_says_which_format_it_looks_like(
    tmp_path: Path, name: str, text: str, looks_like: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(SpecError) as err:
        load_definition(tmp_path / name)
    assert f"looks like {looks_like}" in str(err.value)
    assert err.value.problems[0].fix


# 7. One pin, one hash.


def test_equal_pep440_pins_hash_the_same() -> None:
    folder = F / "pep440-equal-pins-one-hash"
    short, long = load_definition(folder / "short.txt"), load_definition(folder / "long.txt")
    assert compute_hash(short) == compute_hash(long)
    assert short.python.conda is not None and short.python.conda.pip[0] == "torch==2.0.0"


# Every reader: a byte-order mark and CRLF line ends change nothing.

READERS = [
    "formats/conda-environment",
    "formats/requirements",
    "formats/azureml-v2-image",
    "formats/azureml-v2-build",
    "formats/azureml-v1-saved",
    "formats/mlenv-conda-file",
    "mlflow-model-python-env",
    "build-context-is-identity",
    "requirements-as-pip-reads-them",
]


@pytest.mark.parametrize("name", READERS)
def test_every_reader_takes_a_bom_and_crlf(tmp_path: Path, name: str) -> None:
    folder = _copy(name, tmp_path / "a")
    entry = folder if name != "build-context-is-identity" else folder / "environment.yml"
    expected = compute_hash(load_definition(entry))
    expected_format = detect_format(entry)
    for path in folder.rglob("*"):
        # Not the build context's files: their bytes are the image's bytes.
        if path.is_file() and "docker-context" not in path.parts and path.name != "MLmodel":
            text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
            path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert detect_format(entry) is expected_format
    assert compute_hash(load_definition(entry)) == expected
