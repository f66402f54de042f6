"""Hostile and broken definitions: every refusal and every cap, one case each.

A definition under review is untrusted: it must not read files outside its
folder (nor show their content), hang, eat memory, or end in a traceback.
Each table row writes a small folder, loads it, and checks the error names
the file and line (or field) and leaves the content out.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _defs import definition

from pulumi_mlenv.definition import compute_hash, explain, load_definition, parse_definition
from pulumi_mlenv.definition.limits import (
    MAX_DEPTH,
    MAX_DIFF_LINES,
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_INCLUDE_DEPTH,
    MAX_LINE_CHARS,
    MAX_NUMBER_DIGITS,
    MAX_PROBLEMS,
    MAX_TOTAL_BYTES,
    MAX_VALUES,
)
from pulumi_mlenv.errors import SpecError

SECRET = "TOPSECRET-content-of-a-file-outside"
V1 = "azureml_environment.json"


def _v1(python: object = None, **more: object) -> str:
    doc: dict[str, object] = {"name": "v1-env", "python": python or {}, **more}
    return json.dumps(doc)


def _setup(tmp_path: Path, files: dict[str, str | None]) -> Path:
    """The definition folder ``tmp_path/def`` with ``files`` (None: a FIFO;
    a value starting ``->``: a symlink to it), and a secret file beside it."""
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    (tmp_path / "secret.yml").write_text(f"dependencies: [{SECRET}]\n")
    folder = tmp_path / "def"
    folder.mkdir()
    (folder / "sub").mkdir()
    for name, text in files.items():
        path = folder / name
        if text is None:
            os.mkfifo(path)
        elif text.startswith("->"):
            path.symlink_to(text[2:])
        else:
            path.write_text(text)
    return folder


# (id, files of the definition folder, file to load, where the problem is, what it says)
CONFINED: list[tuple[str, dict[str, str | None], str, str, str]] = [
    (
        "requirements -r /proc/self/environ",
        {"requirements.txt": "numpy==2.1.3\n-r /proc/self/environ\n"},
        "requirements.txt",
        "requirements.txt:2",
        "outside the definition's folder",
    ),
    (
        "requirements -r ../../etc/shadow",
        {"requirements.txt": "-r ../../etc/shadow\n"},
        "requirements.txt",
        "requirements.txt:1",
        "outside the definition's folder",
    ),
    (
        "requirements -r a file beside the folder",
        {"requirements.txt": "-r ../secret.txt\n"},
        "requirements.txt",
        "requirements.txt:1",
        "outside the definition's folder",
    ),
    (
        "requirements -r a path going out through a subfolder",
        {"requirements.txt": "-r sub/../../secret.txt\n"},
        "requirements.txt",
        "requirements.txt:1",
        "outside the definition's folder",
    ),
    (
        "requirements -r a symlink escaping the folder",
        {"requirements.txt": "-r link.txt\n", "link.txt": "->../secret.txt"},
        "requirements.txt",
        "requirements.txt:1",
        "outside the definition's folder",
    ),
    (
        "requirements -r a FIFO (would hang)",
        {"requirements.txt": "-r pipe\n", "pipe": None},
        "requirements.txt",
        "requirements.txt:1",
        "not a regular file",
    ),
    (
        "requirements -r a folder",
        {"requirements.txt": "-r sub\n"},
        "requirements.txt",
        "requirements.txt:1",
        "a folder, not a regular file",
    ),
    (
        "requirements -r a name with a NUL byte",
        {"requirements.txt": "-r a\0b.txt\n"},
        "requirements.txt",
        "requirements.txt:1",
        "not a file name",
    ),
    (
        "conda pip list -r outside",
        {"environment.yml": "dependencies:\n  - python=3.11\n  - pip:\n      - -r ../secret.txt\n"},
        "environment.yml",
        "environment.yml: dependencies[1].pip[0]",
        "outside the definition's folder",
    ),
    (
        "mlenv conda_file: /dev/zero",
        {"mlenv.yml": "name: a\npython:\n  conda_file: /dev/zero\n"},
        "mlenv.yml",
        "mlenv.yml: python.conda_file",
        "outside the definition's folder",
    ),
    (
        "mlenv conda_file: a symlink to a secret",
        {"mlenv.yml": "name: a\npython:\n  conda_file: c.yml\n", "c.yml": "->../secret.yml"},
        "mlenv.yml",
        "mlenv.yml: python.conda_file",
        "outside the definition's folder",
    ),
    (
        "azureml v2 conda_file outside",
        {"environment.yml": "$schema: environment.schema\nname: a\nconda_file: ../secret.yml\n"},
        "environment.yml",
        "environment.yml: conda_file",
        "outside the definition's folder",
    ),
    (
        "azureml v2 dockerfile_path: ../../etc/shadow",
        {
            "environment.yml": (
                "$schema: environment.schema\nname: a\n"
                "build: {path: ., dockerfile_path: ../../etc/shadow}\n"
            )
        },
        "environment.yml",
        "environment.yml: build.dockerfile_path",
        "outside the definition's folder",
    ),
    (
        "azureml v2 build.path outside",
        {"environment.yml": "$schema: environment.schema\nname: a\nbuild: {path: ..}\n"},
        "environment.yml",
        "environment.yml: build.path",
        "outside the definition's folder",
    ),
    (
        "azureml v1 condaDependenciesFile outside",
        {V1: _v1({"condaDependenciesFile": "../secret.yml"})},
        ".",
        f"{V1}: python.condaDependenciesFile",
        "outside the definition's folder",
    ),
    (
        "azureml v1 conda_dependencies.yml a symlink out",
        {V1: _v1(), "conda_dependencies.yml": "->../secret.yml"},
        ".",
        f"{V1}: conda_dependencies.yml",
        "outside the definition's folder",
    ),
    (
        "azureml v1 conda_dependencies.yml a FIFO",
        {V1: _v1(), "conda_dependencies.yml": None},
        ".",
        f"{V1}: conda_dependencies.yml",
        "not a regular file",
    ),
    (
        "azureml v1 BaseDockerfile a symlink out",
        {V1: _v1({"userManagedDependencies": True}), "BaseDockerfile": "->../secret.txt"},
        ".",
        f"{V1}: BaseDockerfile",
        "outside the definition's folder",
    ),
]


@pytest.mark.parametrize(
    ("files", "load", "where", "says"),
    [c[1:] for c in CONFINED],
    ids=[c[0] for c in CONFINED],
)
def test_files_outside_the_folder_are_refused_without_their_content(
    tmp_path: Path, files: dict[str, str | None], load: str, where: str, says: str
) -> None:
    folder = _setup(tmp_path, files)
    with pytest.raises(SpecError) as err:
        load_definition(folder / load)
    problems = [p for p in err.value.problems if p.path == where]
    assert problems, str(err.value)
    assert says in problems[0].message
    assert SECRET not in str(err.value)
    assert os.environ.get("PATH", "-") not in str(err.value)


SYSTEM: list[tuple[str, str]] = [
    ("requirements.txt", "-r /proc/self/environ\n"),
    ("requirements.txt", "-r /dev/zero\n"),
    ("mlenv.yml", "name: a\npython:\n  conda_file: /dev/zero\n"),
]


@pytest.mark.parametrize(("name", "text"), SYSTEM, ids=[t.strip() for _, t in SYSTEM])
def test_system_files_are_refused_even_under_a_root_of_slash(
    tmp_path: Path, name: str, text: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(SpecError, match="is a system file") as err:
        load_definition(tmp_path / name, root="/")
    assert "PATH=" not in str(err.value)


@pytest.mark.parametrize("name", ["requirements.txt", "environment.yml"])
def test_a_definition_that_is_a_symlink_out_of_its_folder_is_refused(
    tmp_path: Path, name: str
) -> None:
    folder = _setup(tmp_path, {name: "->/proc/self/environ"})
    with pytest.raises(SpecError) as err:
        load_definition(folder / name)
    assert "outside the definition's folder" in str(err.value)
    assert "PATH=" not in str(err.value)


def test_a_named_root_lets_a_definition_read_a_shared_file(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "base.txt").write_text("numpy==2.1.3\n")
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "requirements.txt").write_text("-r ../shared/base.txt\npandas==2.2.3\n")
    with pytest.raises(SpecError, match="outside the definition's folder"):
        load_definition(tmp_path / "svc" / "requirements.txt")
    spec = load_definition(tmp_path / "svc" / "requirements.txt", root=tmp_path)
    assert spec.python.conda is not None
    assert spec.python.conda.pip == ("numpy==2.1.3", "pandas==2.2.3")


def test_a_root_that_does_not_hold_the_definition_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "requirements.txt").write_text("numpy==2.1.3\n")
    with pytest.raises(SpecError) as err:
        load_definition(tmp_path / "b" / "requirements.txt", root=tmp_path / "a")
    assert err.value.problems[0].path == "root"


def test_a_symlink_inside_the_folder_is_followed(tmp_path: Path) -> None:
    folder = _setup(tmp_path, {"requirements.txt": "-r link.txt\n", "real.txt": "numpy==2.1.3\n"})
    (folder / "link.txt").symlink_to("real.txt")
    spec = load_definition(folder / "requirements.txt")
    assert spec.python.conda is not None and spec.python.conda.pip == ("numpy==2.1.3",)


def _chain(folder: Path, length: int) -> Path:
    """r0.txt includes r1.txt ... includes r{length-1}.txt, each with one package."""
    for i in range(length):
        more = f"-r r{i + 1}.txt\n" if i + 1 < length else ""
        (folder / f"r{i}.txt").write_text(f"pkg{i}==1.0\n{more}")
    return folder / "r0.txt"


def test_a_25_level_include_chain_is_not_a_loop(tmp_path: Path) -> None:
    spec = load_definition(_chain(tmp_path, 25))
    assert spec.python.conda is not None
    assert spec.python.conda.pip == tuple(f"pkg{i}==1.0.0" for i in range(25))


def test_an_include_loop_is_named_a_loop(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\n")
    (tmp_path / "b.txt").write_text("-r a.txt\n")
    with pytest.raises(SpecError, match="a -r loop"):
        load_definition(tmp_path / "a.txt")


def _big(path: Path, size: int) -> None:
    line = "# " + "x" * 1000 + "\n"
    path.write_text(line * (size // len(line) + 1))


def _fan_out(folder: Path) -> Path:
    (folder / "one.txt").write_text("numpy==2.1.3\n")
    (folder / "requirements.txt").write_text("-r one.txt\n" * (MAX_FILES + 5))
    return folder / "requirements.txt"


def _total(folder: Path) -> Path:
    for i in range(5):
        _big(folder / f"part{i}.txt", MAX_FILE_BYTES - 4096)
    (folder / "requirements.txt").write_text("".join(f"-r part{i}.txt\n" for i in range(5)))
    return folder / "requirements.txt"


def _one_big(folder: Path) -> Path:
    _big(folder / "requirements.txt", MAX_FILE_BYTES + 10)
    return folder / "requirements.txt"


def _long_line(folder: Path) -> Path:
    (folder / "requirements.txt").write_text("numpy==2.1.3\n" + "a" * (MAX_LINE_CHARS + 1) + "\n")
    return folder / "requirements.txt"


def _long_yaml_line(folder: Path) -> Path:
    (folder / "mlenv.yml").write_text("name: a\ndescription: " + "x" * MAX_LINE_CHARS + "\n")
    return folder / "mlenv.yml"


def _deep_yaml(folder: Path) -> Path:
    nested = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    (folder / "mlenv.yml").write_text(f"name: a\ntags:\n  x: {nested}\n")
    return folder / "mlenv.yml"


def _very_deep_yaml(folder: Path) -> Path:
    (folder / "mlenv.yml").write_text("name: a\ntags:\n" + " [\n" * 100_000)
    return folder / "mlenv.yml"


def _deep_block_yaml(folder: Path) -> Path:
    text = "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v\n"
    (folder / "mlenv.yml").write_text(
        "name: a\ntags:\n" + "".join("  " + ln for ln in text.splitlines(True))
    )
    return folder / "mlenv.yml"


def _deep_json(folder: Path) -> Path:
    (folder / V1).write_text('{"name": "a", "python": ' + "[" * 5000 + "]" * 5000 + "}")
    return folder


def _laughs(folder: Path) -> Path:
    lines = ["name: a", 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*l{i - 1}"] * 9)
        lines.append(f"l{i}: &l{i} [{refs}]")
    (folder / "mlenv.yml").write_text("\n".join(lines) + "\ntags: {x: *l9}\n")
    return folder / "mlenv.yml"


def _many_values(folder: Path) -> Path:
    pins = "".join(f"      - p{i}==1.0\n" for i in range(MAX_VALUES + 10))
    (folder / "environment.yml").write_text(f"dependencies:\n  - pip:\n{pins}")
    return folder / "environment.yml"


def _long_yaml_number(folder: Path) -> Path:
    (folder / "mlenv.yml").write_text("name: a\nversion: " + "9" * 5000 + "\n")
    return folder / "mlenv.yml"


def _long_pip_version(folder: Path) -> Path:
    (folder / "requirements.txt").write_text("numpy==1.0a" + "1" * 5000 + "\n")
    return folder / "requirements.txt"


def _long_conda_version(folder: Path) -> Path:
    (folder / "environment.yml").write_text("dependencies:\n  - python=3." + "1" * 5000 + "\n")
    return folder / "environment.yml"


def _many_problems(folder: Path) -> Path:
    (folder / "requirements.txt").write_text("not a requirement ((\n" * (MAX_PROBLEMS * 5))
    return folder / "requirements.txt"


def _too_deep_chain(folder: Path) -> Path:
    return _chain(folder, MAX_INCLUDE_DEPTH + 8)


# (id, builder of the definition, where the first problem is, what it says)
CAPS: list[tuple[str, Callable[[Path], Path], str, str]] = [
    ("MAX_FILE_BYTES", _one_big, "requirements.txt", f"larger than {MAX_FILE_BYTES} bytes"),
    ("MAX_TOTAL_BYTES", _total, "part4.txt", f"more than {MAX_TOTAL_BYTES} bytes"),
    ("MAX_FILES", _fan_out, "one.txt", f"at most {MAX_FILES} files"),
    ("MAX_INCLUDE_DEPTH", _too_deep_chain, f"r{MAX_INCLUDE_DEPTH}.txt", "nest more than"),
    ("MAX_LINE_CHARS requirements", _long_line, "requirements.txt:2", "longer than"),
    ("MAX_LINE_CHARS yaml", _long_yaml_line, "mlenv.yml:2", "longer than"),
    ("MAX_DEPTH yaml flow", _deep_yaml, "mlenv.yml:3", f"more than {MAX_DEPTH} levels"),
    ("MAX_DEPTH yaml 100,000 levels", _very_deep_yaml, "mlenv.yml:34", "levels deep"),
    ("MAX_DEPTH yaml block", _deep_block_yaml, "mlenv.yml:", f"more than {MAX_DEPTH} levels"),
    ("MAX_DEPTH json", _deep_json, V1, f"more than {MAX_DEPTH} levels"),
    ("MAX_VALUES billion laughs", _laughs, "mlenv.yml:", f"more than {MAX_VALUES} values"),
    ("MAX_VALUES long list", _many_values, "environment.yml:", f"more than {MAX_VALUES} values"),
    ("MAX_NUMBER_DIGITS yaml", _long_yaml_number, "mlenv.yml:2", f"{MAX_NUMBER_DIGITS} digits"),
    (
        "MAX_NUMBER_DIGITS pip",
        _long_pip_version,
        "requirements.txt:1",
        f"{MAX_NUMBER_DIGITS} digits",
    ),
    ("MAX_NUMBER_DIGITS conda", _long_conda_version, "environment.yml:2", "digits"),
    ("MAX_PROBLEMS", _many_problems, "requirements.txt", f"stopped after {MAX_PROBLEMS}"),
]


@pytest.mark.parametrize(
    ("build", "where", "says"), [c[1:] for c in CAPS], ids=[c[0] for c in CAPS]
)
def test_each_cap_is_a_clean_error_naming_the_file_and_the_cap(
    tmp_path: Path, build: Callable[[Path], Path], where: str, says: str
) -> None:
    with pytest.raises(SpecError) as err:
        load_definition(build(tmp_path))
    found = [p for p in err.value.problems if says in p.message]
    assert found, str(err.value)[:2000]
    assert found[0].path.startswith(where), found[0]
    assert len(err.value.problems) <= MAX_PROBLEMS + 1


def test_many_problems_are_cut_at_the_cap(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        load_definition(_many_problems(tmp_path))
    assert len(err.value.problems) == MAX_PROBLEMS + 1


def _self_holding_list() -> dict[str, Any]:
    loop: list[Any] = []
    loop.append(loop)
    return definition(pip=loop)


# Inputs a Pulumi program can pass (no file): (id, mapping, path, says)
MAPPINGS: list[tuple[str, Callable[[], dict[str, Any]], str, str]] = [
    (
        "nested too deep",
        lambda: {"name": "a", "tags": {"x": _nest(MAX_DEPTH + 3)}},
        "tags.x",
        f"more than {MAX_DEPTH} levels",
    ),
    ("a list that holds itself", _self_holding_list, "python.conda", "levels deep"),
    ("a huge number", lambda: {"name": "a", "version": 10**5000}, "version", "digits"),
    (
        "a 5,000-digit version",
        lambda: definition(pip=["numpy>=1.0.post" + "1" * 5000]),
        "python.conda.dependencies[2].pip[0]",
        "digits",
    ),
    (
        "a conda dependency that is a number",
        lambda: definition(conda=["python=3.11", 3.1]),
        "python.conda.dependencies[1]",
        "expected a package spec, got 3.1",
    ),
    (
        "a conda dependency that is a boolean",
        lambda: definition(conda=[True]),
        "python.conda.dependencies[0]",
        "expected a package spec, got True",
    ),
    (
        "a line too long in a Dockerfile",
        lambda: {"name": "a", "docker": {"base_dockerfile": "FROM x\nRUN " + "y" * 20000}},
        "docker.base_dockerfile",
        "longer than",
    ),
]


def _nest(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("build", "where", "says"), [c[1:] for c in MAPPINGS], ids=[c[0] for c in MAPPINGS]
)
def test_hostile_mappings_are_clean_errors(
    build: Callable[[], dict[str, Any]], where: str, says: str
) -> None:
    with pytest.raises(SpecError) as err:
        parse_definition(build())
    found = [p for p in err.value.problems if says in p.message]
    assert found, str(err.value)[:2000]
    assert found[0].path.startswith(where), found[0]


# Broken files that used to end in a traceback or an empty environment:
# (id, files, file to load, where, says)
BROKEN: list[tuple[str, dict[str, str | None], str, str, str]] = [
    (
        "yaml date out of range",
        {"mlenv.yml": "name: a\nversion: 2024-13-01\n"},
        "mlenv.yml",
        "mlenv.yml",
        "cannot read",
    ),
    (
        "yaml !!int on text",
        {"mlenv.yml": "name: a\nversion: !!int abc\n"},
        "mlenv.yml",
        "mlenv.yml",
        "cannot read",
    ),
    (
        "yaml python tag",
        {"mlenv.yml": "name: !!python/object/apply:os.system [id]\n"},
        "mlenv.yml",
        "mlenv.yml",
        "not valid YAML",
    ),
    (
        "yaml recursive alias",
        {"mlenv.yml": "name: a\ntags: &t {x: *t}\n"},
        "mlenv.yml",
        "mlenv.yml: tags.x",
        "levels deep",
    ),
    ("yaml NUL byte", {"mlenv.yml": "name: a\0\n"}, "mlenv.yml", "mlenv.yml", "not valid YAML"),
    (
        "v1 python is text",
        {V1: json.dumps({"name": "a", "python": "conda"})},
        ".",
        f"{V1}: python",
        "expected a mapping",
    ),
    (
        "v1 docker is a list",
        {V1: _v1({"userManagedDependencies": True, "interpreterPath": "/p"}, docker=[])},
        ".",
        f"{V1}: docker",
        "expected a mapping",
    ),
    (
        "v1 spark is a number",
        {V1: _v1({"userManagedDependencies": True, "interpreterPath": "/p"}, spark=1)},
        ".",
        f"{V1}: spark",
        "expected a mapping",
    ),
    (
        "v1 userManagedDependencies text",
        {V1: _v1({"userManagedDependencies": "yes"})},
        ".",
        f"{V1}: python.userManagedDependencies",
        "expected true or false",
    ),
    ("v1 conda file missing", {V1: _v1()}, ".", f"{V1}: conda_dependencies.yml", "is missing"),
    (
        "v1 named conda file missing",
        {V1: _v1({"condaDependenciesFile": "conda.yml"})},
        ".",
        f"{V1}: python.condaDependenciesFile",
        "no such file",
    ),
    (
        "v1 conda file empty",
        {V1: _v1(), "conda_dependencies.yml": "# nothing\n"},
        ".",
        f"{V1}: conda_dependencies.yml",
        "is empty",
    ),
    ("v1 not JSON", {V1: "{"}, ".", V1, "not valid JSON"),
    (
        "v1 5,000-digit number",
        {V1: '{"name": "a", "version": ' + "9" * 5000 + "}"},
        ".",
        V1,
        "not valid JSON",
    ),
    (
        "not UTF-8",
        {"requirements.txt": "numpy==1.0\n\udcff\n"},
        "requirements.txt",
        "requirements.txt",
        "not UTF-8",
    ),
    (
        "conda dependency a number",
        {"environment.yml": "dependencies:\n  - 3.10\n"},
        "environment.yml",
        "environment.yml: dependencies[0]",
        "expected a package spec",
    ),
    (
        "conda dependency a boolean",
        {"environment.yml": "dependencies:\n  - yes\n"},
        "environment.yml",
        "environment.yml: dependencies[0]",
        "expected a package spec",
    ),
]


@pytest.mark.parametrize(
    ("files", "load", "where", "says"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN]
)
def test_broken_files_are_clean_errors(
    tmp_path: Path, files: dict[str, str | None], load: str, where: str, says: str
) -> None:
    folder = tmp_path / "def"
    folder.mkdir()
    for name, text in files.items():
        data = (text or "").encode("utf-8", "surrogateescape")
        (folder / name).write_bytes(data)
    with pytest.raises(SpecError) as err:
        load_definition(folder / load)
    found = [p for p in err.value.problems if says in p.message]
    assert found, str(err.value)
    assert found[0].path.startswith(where), found[0]


def test_a_v1_folder_written_without_packages_reads_back(tmp_path: Path) -> None:
    from pulumi_mlenv.definition import write_azureml_v1_folder

    spec = parse_definition({"name": "plain", "docker": {"base_image": "python:3.11"}})
    folder = write_azureml_v1_folder(spec, tmp_path / "saved")
    assert compute_hash(load_definition(folder)) == compute_hash(spec)


TOKEN = "s3cr3t-token"
CREDS = f"https://alice:{TOKEN}@pypi.example.com/simple"

# Entries whose problem quotes what was written, which holds a credential.
LEAKY: list[tuple[str, dict[str, Any]]] = [
    ("invalid requirement", definition(pip=[f"numpy @ {CREDS}/n.whl ; (("])),
    ("editable install", definition(pip=[f"-e git+{CREDS}/r.git#egg=r"])),
    ("two index URLs", definition(pip=[f"--index-url {CREDS}", f"--index-url {CREDS}2"])),
    ("requirement listed twice", definition(pip=[f"numpy @ {CREDS}/n.whl", "numpy==2.1.3"])),
    ("not a conda spec", definition(conda=[f"{CREDS}/numpy"])),
    ("not an image", {"name": "a", "docker": {"base_image": f"{CREDS}/img"}}),
    ("not an instruction", {"name": "a", "docker": {"steps": [f"curl {CREDS}/x"]}}),
    ("channel listed twice", definition(channels=[CREDS, CREDS])),
]


@pytest.mark.parametrize("data", [c[1] for c in LEAKY], ids=[c[0] for c in LEAKY])
def test_credentials_in_urls_never_reach_a_problem(data: dict[str, Any]) -> None:
    with pytest.raises(SpecError) as err:
        parse_definition(data)
    text = str(err.value) + repr(err.value.problems)
    assert TOKEN not in text
    assert "alice" not in text and "***@" in text


def test_credentials_never_reach_a_warning() -> None:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parse_definition(definition(pip=[f"--extra-index-url {CREDS}"] * 2))  # a warning now
    text = " ".join(str(w.message) for w in caught)
    assert "twice" in text and TOKEN not in text


def test_credentials_never_reach_a_file_problem(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        f"--index-url {CREDS}\n-e git+{CREDS}/r.git\n-r {CREDS}/more.txt\n"
    )
    with pytest.raises(SpecError) as err:
        load_definition(tmp_path / "requirements.txt")
    assert TOKEN not in str(err.value)


def test_explain_summarises_a_huge_dockerfile_instead_of_matching_lines() -> None:
    lines = [f"RUN echo {i % 50}" for i in range(MAX_DIFF_LINES + 1)]
    old = parse_definition(
        {"name": "a", "docker": {"base_dockerfile": "\n".join(["FROM x", *lines])}}
    )
    new = parse_definition(
        {"name": "a", "docker": {"base_dockerfile": "\n".join(["FROM x", *lines, "RUN y"])}}
    )
    reasons = explain(old, new)
    assert len(reasons) == 1
    assert reasons[0].endswith(
        f"changed ({MAX_DIFF_LINES + 2} lines -> {MAX_DIFF_LINES + 3} lines)"
    )


# (id, what replaces the build context's .dockerignore, what the problem says)
DOCKERIGNORES: list[tuple[str, Callable[[Path], None], str]] = [
    ("not UTF-8", lambda p: p.write_bytes(b"*.pyc\n\xc0\xaf\n"), "is not UTF-8 text"),
    ("a link to /dev/zero", lambda p: p.symlink_to("/dev/zero"), "outside"),
    ("a link out of the context", lambda p: p.symlink_to("../../secret.txt"), "outside"),
    ("a FIFO", lambda p: os.mkfifo(p), "not a regular file"),
    ("a 500 kB pattern", lambda p: p.write_text('{"a":' * 100_000), "longer than"),
    ("10,000 patterns", lambda p: p.write_text("x\n" * 10_000), "more than 1000 patterns"),
]


@pytest.mark.parametrize(
    ("make", "says"), [c[1:] for c in DOCKERIGNORES], ids=[c[0] for c in DOCKERIGNORES]
)
def test_a_hostile_dockerignore_is_refused_without_being_read(
    tmp_path: Path, make: Callable[[Path], None], says: str
) -> None:
    """Found by the hostile corpus: it was read with ``read_text`` (a
    traceback on bad UTF-8, any file through a link, a FIFO that blocks)."""
    folder = _setup(tmp_path, {"mlenv.yml": "name: c\ndocker: {build_context: ctx}\n"})
    (folder / "ctx").mkdir()
    (folder / "ctx" / "app.py").write_text("print(1)\n")
    make(folder / "ctx" / ".dockerignore")
    with pytest.raises(SpecError) as err:
        load_definition(folder / "mlenv.yml")
    [problem] = err.value.problems
    assert problem.path.startswith("docker.build_context: .dockerignore")
    assert says in str(err.value)
    assert SECRET not in str(err.value)


@pytest.mark.parametrize("name", ["requirements.txt", "extra.json"])
def test_a_definition_linked_out_is_not_opened_to_tell_its_format(
    tmp_path: Path, name: str
) -> None:
    """Found by the hostile corpus: telling a requirements file (or a JSON
    file) from a look-alike read its first lines wherever its link led."""
    folder = _setup(tmp_path, {name: "->../secret.txt"})
    opened: list[str] = []

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and isinstance(args[0], str) and "secret" in args[0]:
            opened.append(args[0])

    sys.addaudithook(hook)
    with pytest.raises(SpecError):
        load_definition(folder / name)
    assert opened == []
