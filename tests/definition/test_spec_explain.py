"""explain(old, new): the words a reviewer reads in a preview, and the
invariants of the hash (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from _defs import definition
from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_mlenv.definition import (
    RECIPE_VERSION,
    compute_hash,
    explain,
    parse_definition,
    with_resolved_base,
)

OLD = definition(
    pip=["numpy==1.26.4", "pandas==2.2.3"],
    channels=["conda-forge", "defaults"],
    docker={"base_image": "python:3.11-slim", "steps": ["RUN echo a", "RUN echo b", "RUN echo c"]},
    spark={"packages": ["org.apache.spark:spark-avro_2.12:3.5.3"]},
)


def _with(**changes: Any) -> dict[str, Any]:
    out = {**OLD, **changes}
    return out


# (case, new definition, expected lines)
CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("same", _with(name="renamed", version="2"), []),
    (
        "added",
        definition(
            pip=["numpy==1.26.4", "pandas==2.2.3", "torch==2.3.1"],
            channels=["conda-forge", "defaults"],
            docker=OLD["docker"],
            spark=OLD["spark"],
        ),
        ["pip: added torch==2.3.1"],
    ),
    (
        "removed",
        definition(
            pip=["numpy==1.26.4"],
            channels=["conda-forge", "defaults"],
            docker=OLD["docker"],
            spark=OLD["spark"],
        ),
        ["pip: removed pandas==2.2.3"],
    ),
    (
        "version",
        definition(
            pip=["numpy==2.1.0", "pandas==2.2.3"],
            channels=["conda-forge", "defaults"],
            docker=OLD["docker"],
            spark=OLD["spark"],
        ),
        ["pip: numpy==1.26.4 -> numpy==2.1.0"],
    ),
    (
        "pip order",
        definition(
            pip=["pandas==2.2.3", "numpy==1.26.4"],
            channels=["conda-forge", "defaults"],
            docker=OLD["docker"],
            spark=OLD["spark"],
        ),
        ["pip: order changed"],
    ),
    (
        "channel order",
        definition(
            pip=["numpy==1.26.4", "pandas==2.2.3"],
            channels=["defaults", "conda-forge"],
            docker=OLD["docker"],
            spark=OLD["spark"],
        ),
        ["conda channels: order changed"],
    ),
    (
        "base image",
        _with(docker={**OLD["docker"], "base_image": "python:3.12-slim"}),
        ["base image: python:3.11-slim -> python:3.12-slim"],
    ),
    (
        "step changed",
        _with(docker={**OLD["docker"], "steps": ["RUN echo a", "RUN echo B", "RUN echo c"]}),
        ["docker steps: line 2 changed"],
    ),
    (
        "step added",
        _with(
            docker={**OLD["docker"], "steps": ["RUN echo a", "RUN echo b", "RUN echo c", "ENV X=1"]}
        ),
        ["docker steps: line 4 added"],
    ),
    (
        "step order",
        _with(docker={**OLD["docker"], "steps": ["RUN echo b", "RUN echo a", "RUN echo c"]}),
        ["docker steps: order changed"],
    ),
    (
        "spark added",
        _with(
            spark={
                "packages": [
                    "org.apache.spark:spark-avro_2.12:3.5.3",
                    "io.delta:delta-spark_2.12:3.2.1",
                ]
            }
        ),
        ["spark: added io.delta:delta-spark_2.12:3.2.1"],
    ),
    (
        "spark version",
        _with(spark={"packages": ["org.apache.spark:spark-avro_2.12:3.5.4"]}),
        ["spark: org.apache.spark:spark-avro_2.12:3.5.3 -> org.apache.spark:spark-avro_2.12:3.5.4"],
    ),
    (
        "kind",
        {
            "name": "x",
            "python": {"user_managed": True, "interpreter_path": "/usr/bin/python3"},
            "docker": OLD["docker"],
            "spark": OLD["spark"],
        },
        [
            "kind: system-managed -> user-managed",
            "conda channels: removed conda-forge",
            "conda channels: removed defaults",
            "conda: removed python=3.11",
            "conda: removed pip",
            "pip: removed numpy==1.26.4",
            "pip: removed pandas==2.2.3",
        ],
    ),
    (
        "platform",
        _with(docker={**OLD["docker"], "platform": "linux/arm64"}),
        ["platform: (default) -> linux/arm64"],
    ),
]


@pytest.mark.parametrize(("case", "new", "lines"), CASES, ids=[c[0] for c in CASES])
def test_explain_lines(case: str, new: dict[str, Any], lines: list[str]) -> None:
    assert explain(parse_definition(OLD), parse_definition(new)) == lines


def test_explain_a_moved_tag() -> None:
    spec = parse_definition(OLD)
    old = with_resolved_base(spec, "sha256:" + "ab12" * 16)
    new = with_resolved_base(spec, "sha256:" + "cd34" * 16)
    assert explain(old, new) == [
        "base image tag python:3.11-slim moved: sha256:ab12.. -> sha256:cd34.."
    ]


def test_explain_an_older_recipe() -> None:
    spec = parse_definition(OLD)
    assert explain(spec, spec, old_recipe="0") == [f"recipe: 0 -> {RECIPE_VERSION}"]


def test_explain_never_shows_index_credentials() -> None:
    old = parse_definition(
        definition(pip=["--extra-index-url https://bob:s3cret@pypi.example.com/simple"])
    )
    new = parse_definition(
        definition(
            pip=["--extra-index-url https://bob:rotated@pypi.example.com/simple", "numpy==2.1.3"]
        )
    )
    lines = explain(old, new)
    assert lines == ["pip: added numpy==2.1.3"]
    assert compute_hash(old) == compute_hash(
        parse_definition(definition(pip=["--extra-index-url https://pypi.example.com/simple"]))
    )


# --- properties -------------------------------------------------------------

NAMES = st.sampled_from(
    ["numpy", "pandas", "scipy", "torch", "polars", "requests", "pyyaml", "rich"]
)
VERSIONS = st.sampled_from(["1.0", "1.0.1", "2.1.3", "0.9"])
PIPS = st.lists(st.tuples(NAMES, VERSIONS), max_size=5, unique_by=lambda t: t[0]).map(
    lambda items: [f"{n}=={v}" for n, v in items]
)
CHANNELS = st.lists(
    st.sampled_from(["conda-forge", "defaults", "nvidia", "bioconda"]), max_size=3, unique=True
)
STEPS = st.lists(
    st.sampled_from(["RUN echo a", "RUN echo b", "ENV X=1", "WORKDIR /app"]), max_size=3
)
IMAGES = st.sampled_from([None, "python:3.11-slim", "python:3.12-slim"])
META = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b"]), "version": st.sampled_from(["1", "2"])}
)


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    docker: dict[str, Any] = {"steps": draw(STEPS)}
    image = draw(IMAGES)
    if image:
        docker["base_image"] = image
    return definition(pip=draw(PIPS), channels=draw(CHANNELS) or None, docker=docker, **draw(META))


@settings(max_examples=300)
@given(definitions(), definitions())
def test_explain_is_empty_iff_the_hashes_are_equal(a: dict[str, Any], b: dict[str, Any]) -> None:
    old, new = parse_definition(a), parse_definition(b)
    assert (explain(old, new) == []) == (compute_hash(old) == compute_hash(new))


@given(definitions(), st.sampled_from(["x", "renamed-env"]), st.sampled_from(["9", "10"]))
def test_metadata_never_changes_the_hash(a: dict[str, Any], name: str, version: str) -> None:
    renamed = {**a, "name": name, "version": version, "description": "d", "tags": {"k": "v"}}
    assert compute_hash(parse_definition(a)) == compute_hash(parse_definition(renamed))


@given(PIPS.filter(lambda p: len(p) >= 2), st.randoms())
def test_reordering_pip_changes_the_hash(pip: list[str], rnd: Any) -> None:
    shuffled = list(pip)
    while shuffled == pip:
        rnd.shuffle(shuffled)
    assert compute_hash(parse_definition(definition(pip=pip))) != compute_hash(
        parse_definition(definition(pip=shuffled))
    )


@given(definitions())
def test_to_dict_round_trips_and_keeps_the_hash(a: dict[str, Any]) -> None:
    from pulumi_mlenv.definition import to_dict

    spec = parse_definition(a)
    again = parse_definition(to_dict(spec))
    assert again == spec and compute_hash(again) == compute_hash(spec)
