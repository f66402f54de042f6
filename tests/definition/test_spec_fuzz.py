"""Fuzz: whatever the input, the parsers raise SpecError and nothing else.

No deadline: timing belongs to `benchmarks/bench_hostile.py`, not to a
shared machine's test run."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from _defs import definition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulumi_mlenv.definition import compute_hash, load_definition, parse_definition
from pulumi_mlenv.definition.pip_requirements import parse_pip_line
from pulumi_mlenv.definition.requirements_txt import split_requirements_text
from pulumi_mlenv.errors import SpecError

# Broken inputs repeat lines on purpose: the warnings they draw are expected.
pytestmark = pytest.mark.filterwarnings("ignore::pulumi_mlenv.errors.DefinitionWarning")

KEYS = st.sampled_from([
    "name", "version", "python", "docker", "spark", "conda", "dependencies", "pip", "channels",
    "base_image", "base_dockerfile", "steps", "user_managed", "interpreter_path", "packages",
    "tags", "environment_variables", "repositories", "group", "artifact", "precache_packages",
    "variables", "conda_file", "platform", "shm_size", "x",
])  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30),
    st.sampled_from(["numpy=1.26.4", "python=3.11", "RUN x", "FROM y", "g:a:v", "-r x.txt",
                     "--extra-index-url https://x", "python:3.11", "mlenv-curated-sklearn"]),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(KEYS, st.text(max_size=8), st.integers()), inner, max_size=4),
    ),
    max_leaves=25,
)


def _only_spec_errors(data: Any) -> None:
    try:
        spec = parse_definition(data)
    except SpecError:
        return
    compute_hash(spec)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_parse_definition_arbitrary_mappings(data: dict[str, Any]) -> None:
    _only_spec_errors(data)


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_parse_definition_arbitrary_values(data: Any) -> None:
    _only_spec_errors(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40), SCALARS), max_size=5))
def test_parse_definition_arbitrary_pip_lists(pip: list[Any]) -> None:
    _only_spec_errors(definition(pip=pip))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_pip_lines_never_raise(text: str) -> None:
    line = parse_pip_line(text, "p")
    kinds = sum(x is not None for x in (line.requirement, line.option, line.include, line.problem))
    # Each line is one thing; only an install-time check (``--require-hashes``)
    # is accepted and dropped, so it is nothing.
    assert kinds == 1 or (kinds == 0 and text.strip().startswith("--require-hashes"))


def test_an_install_time_check_is_accepted_and_dropped() -> None:
    line = parse_pip_line("  --require-hashes ", "p")
    assert (line.requirement, line.option, line.include, line.problem) == (None, None, None, None)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(max_size=300), st.sampled_from(["requirements.txt", "env.yml", "mlenv.yaml", "x.json"])
)
def test_load_definition_arbitrary_files(tmp_path: Path, text: str, name: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with contextlib.suppress(SpecError):
        load_definition(path)
    assert isinstance(split_requirements_text(text), list)


YAMLISH = st.lists(
    st.sampled_from([
        "name: a", "channels: [conda-forge]", "dependencies:", "  - python=3.11", "  - pip:",
        "      - numpy=1.0", "      - -r other.txt", "image: python:3.11", "conda_file: c.yml",
        "build: {path: ctx}", "python:", "  conda_file: nope.yml", "  user_managed: true",
        "docker: {base_image: 'python:3.11', base_dockerfile: 'FROM x'}",
        "$schema: environment.schema",
        "- 1", "{", "]", "\t", "x: &a [*a]",
    ]),
    max_size=8,
).map("\n".join)  # fmt: skip


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(YAMLISH, st.sampled_from(["environment.yml", "mlenv.yml"]))
def test_load_definition_yaml_like_files(tmp_path: Path, text: str, name: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with contextlib.suppress(SpecError):
        compute_hash(load_definition(path))
