"""One case per clause of R13 (what the hash covers), R16 (unpinned packages)
and R17 (a moved base tag), each against the fixture folder named after it."""

from __future__ import annotations

import pytest
import yaml
from _defs import FIXTURES, definition

from pulumi_mlenv.definition import (
    compute_hash,
    get_curated,
    load_definition,
    parse_definition,
    to_dict,
    unpinned_packages,
    with_resolved_base,
)
from pulumi_mlenv.errors import SpecError

DIGEST_A = "sha256:" + "ab12" * 16
DIGEST_B = "sha256:" + "cd34" * 16


def _pair(folder: str) -> tuple[str, str]:
    base = FIXTURES / folder
    return compute_hash(load_definition(base / "step1.yml")), compute_hash(
        load_definition(base / "step2.yml")
    )


# (R13 clause, fixture folder, hashes equal?)
R13_FIXTURE_CASES = [
    (
        "renaming, new version/description/tags/variables keep the hash",
        "r13-renaming-keeps-hash",
        True,
    ),
    ("adding a package changes it", "r13-package-added", False),
    ("changing a package version changes it", "r13-version-changed", False),
    ("the order of pip dependencies changes it", "r13-order-matters/pip", False),
    ("the order of channels changes it", "r13-order-matters/channels", False),
    ("cosmetic differences do not change it", "r13-cosmetic-whitespace-and-case", True),
]


@pytest.mark.parametrize(
    ("clause", "folder", "equal"), R13_FIXTURE_CASES, ids=[c[0] for c in R13_FIXTURE_CASES]
)
def test_r13_fixture_pairs(clause: str, folder: str, equal: bool) -> None:
    old, new = _pair(folder)
    assert (old == new) is equal, clause


BASE = definition(pip=["numpy==1.26.4"], docker={"base_image": "python:3.11-slim"})

# (R13 clause, change applied to BASE, hashes equal?)
R13_INPUT_CASES = [
    ("name is not identity", {"name": "other"}, True),
    ("version is not identity", {"version": "42"}, True),
    ("description is not identity", {"description": "x"}, True),
    ("tags are not identity", {"tags": {"team": "a"}}, True),
    ("environment variables are not identity", {"environment_variables": {"A": "1"}}, True),
    (
        "shm size and run arguments are not identity",
        {
            "docker": {
                "base_image": "python:3.11-slim",
                "shm_size": "2g",
                "arguments": ["--ipc=host"],
            }
        },
        True,
    ),
    ("the base image is identity", {"docker": {"base_image": "python:3.12-slim"}}, False),
    (
        "custom docker steps are identity",
        {"docker": {"base_image": "python:3.11-slim", "steps": ["RUN echo 1"]}},
        False,
    ),
    (
        "the platform is identity",
        {"docker": {"base_image": "python:3.11-slim", "platform": "linux/arm64"}},
        False,
    ),
    (
        "spark packages are identity",
        {"spark": {"packages": ["org.apache.spark:spark-avro_2.12:3.5.3"]}},
        False,
    ),
    (
        "conda dependencies are identity",
        {
            "python": {
                "conda": {
                    "channels": ["conda-forge"],
                    "dependencies": ["python=3.12", "pip", {"pip": ["numpy==1.26.4"]}],
                }
            }
        },
        False,
    ),
    (
        "the kind is identity",
        {"python": {"user_managed": True, "interpreter_path": "/usr/bin/python3"}},
        False,
    ),
]


@pytest.mark.parametrize(
    ("clause", "change", "equal"), R13_INPUT_CASES, ids=[c[0] for c in R13_INPUT_CASES]
)
def test_r13_hash_inputs(clause: str, change: dict[str, object], equal: bool) -> None:
    changed = parse_definition({**BASE, **change})
    assert (compute_hash(changed) == compute_hash(parse_definition(BASE))) is equal, clause


def test_r13_any_change_to_a_curated_environment_makes_it_non_curated() -> None:
    with pytest.raises(SpecError) as err:
        load_definition(FIXTURES / "r13-curated-changed" / "mlenv-curated-sklearn.yml")
    (problem,) = err.value.problems
    assert problem.path.endswith("name")
    assert "numpy==2.1.3 -> numpy==2.2.0" in problem.message
    assert "non-curated" in problem.message
    assert "rename it" in problem.fix


def test_r13_an_unchanged_curated_environment_is_accepted_under_its_name() -> None:
    entry = get_curated("sklearn")
    assert parse_definition(to_dict(entry)) == entry


def test_r16_unpinned_packages_are_listed_in_written_order() -> None:
    spec = load_definition(FIXTURES / "r16-unpinned" / "mlenv.yml")
    assert unpinned_packages(spec) == [
        "openblas",
        "numpy",
        "pandas>=2.2",
        "scipy==1.14.*",
        "mylib @ git+https://github.com/example/mylib@main",
    ]


# (R16 clause, pip list, unpinned)
R16_CASES = [
    ("a bare name is unpinned", ["numpy"], ["numpy"]),
    ("pinning with == is pinned", ["numpy==1.18.1"], []),
    ("=== is pinned", ["numpy===1.18.1"], []),
    ("a range is unpinned", ["numpy>=1.18,<2"], ["numpy<2,>=1.18"]),
    ("a wildcard is unpinned", ["numpy==1.18.*"], ["numpy==1.18.*"]),
    ("a compatible release is unpinned", ["numpy~=1.18"], ["numpy~=1.18"]),
]


@pytest.mark.parametrize(("clause", "pip", "unpinned"), R16_CASES, ids=[c[0] for c in R16_CASES])
def test_r16_cases(clause: str, pip: list[str], unpinned: list[str]) -> None:
    assert unpinned_packages(parse_definition(definition(pip=pip))) == unpinned, clause


def test_r16_pinning_a_version_changes_the_hash() -> None:
    loose = parse_definition(definition(pip=["numpy"]))
    pinned = parse_definition(definition(pip=["numpy==1.18.1"]))
    assert compute_hash(loose) != compute_hash(pinned)


def test_r17_a_moved_tag_changes_the_hash() -> None:
    spec = parse_definition(BASE)
    before, after = with_resolved_base(spec, DIGEST_A), with_resolved_base(spec, DIGEST_B)
    assert compute_hash(before) != compute_hash(after)
    assert compute_hash(before) == compute_hash(with_resolved_base(spec, DIGEST_A))


def test_r17_resolving_a_tag_is_part_of_the_hash() -> None:
    spec = parse_definition(BASE)
    assert compute_hash(spec) != compute_hash(with_resolved_base(spec, DIGEST_A))
    assert compute_hash(
        with_resolved_base(with_resolved_base(spec, DIGEST_A), None)
    ) == compute_hash(spec)


def test_r17_a_digest_pinned_base_image_is_accepted() -> None:
    pinned = parse_definition({**BASE, "docker": {"base_image": f"python:3.11-slim@{DIGEST_A}"}})
    assert pinned.docker.base_image == f"python:3.11-slim@{DIGEST_A}"


def test_r17_a_malformed_digest_is_refused() -> None:
    with pytest.raises(SpecError) as err:
        with_resolved_base(parse_definition(BASE), "sha256:abc")
    assert err.value.problems[0].path == "docker.resolved_base_digest"


def test_r15_two_definitions_share_one_hash_and_a_third_has_its_own() -> None:
    text = (FIXTURES / "r13-renaming-keeps-hash" / "step1.yml").read_text()
    first = parse_definition(yaml.safe_load(text))
    second = parse_definition({**yaml.safe_load(text), "name": "b", "version": "9"})
    third = parse_definition(definition(pip=["torch==2.3.1"]))
    assert compute_hash(first) == compute_hash(second) != compute_hash(third)
