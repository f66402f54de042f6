"""Fuzz: broken and hostile definitions of every format end in a clean error.

A seeded sample of the hostile corpus (``tests/support/hostile.py``: 10,000
cases over every format the product reads; the whole of it, timed and
measured, is ``benchmarks/bench_hostile.py``), plus derandomised hypothesis
cases of raw bytes and wrong-typed Azure ML v1 documents. For every case:

- the only exceptions are ``MlenvError`` (no traceback), and each problem
  names the file, line or field it is about;
- no file outside the definition's folder is opened or listed (an audit
  hook watches every ``open``, ``os.listdir`` and ``os.scandir``);
- no error shows the secret file beside the folder or a URL credential.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulumi_mlenv.definition.formats import Format
from support.hostile import CREDS, FORMATS, SECRET, TOKEN, Case, corpus, sample
from support.hostile_run import Outcome, run_case
from support.hostile_seeds import SEEDS, TARGETS

# Broken inputs repeat lines on purpose: the warnings they draw are expected.
pytestmark = pytest.mark.filterwarnings("ignore::pulumi_mlenv.errors.DefinitionWarning")

SAMPLE = 360


def _faults(out: Outcome) -> list[str]:
    """What is wrong with one case's outcome, as lines of a report."""
    found: list[str] = []
    if out.verdict == "traceback":
        found.append(f"{out.ident}: traceback\n{out.message}")
    found += [f"{out.ident}: a problem names no file or field: {u}" for u in out.unnamed]
    found += [f"{out.ident}: read outside its folder: {o}" for o in out.outside]
    if SECRET in out.message or TOKEN in out.message or "PATH=" in out.message:
        found.append(f"{out.ident}: the error shows a secret: {out.message[:300]}")
    return found


def _check(outcomes: list[Outcome]) -> None:
    faults = [f for out in outcomes for f in _faults(out)]
    assert not faults, f"{len(faults)} bad cases:\n" + "\n".join(faults[:5])


def test_the_corpus_covers_every_format_the_product_reads() -> None:
    cases = corpus()
    assert len(cases) >= 10_000
    assert {f.value for f in Format} <= set(FORMATS)
    assert {"inputs", "dockerfile", "azureml-v2-build"} <= set(FORMATS)
    assert {c.fmt for c in cases if "-crafted-" in c.ident} == set(FORMATS)
    assert {c.fmt for c in cases if c.links} == set(FORMATS) - {"inputs"}


def test_the_valid_folders_the_corpus_starts_from_are_accepted(tmp_path: Path) -> None:
    """Else every mutation would be refused for the same dull reason."""
    for fmt in FORMATS:
        files = {k: v.encode() for k, v in SEEDS[fmt].items()}
        out = run_case(tmp_path / fmt, Case(fmt, fmt, files, TARGETS[fmt]))
        assert (out.verdict, out.message, out.outside) == ("accepted", "", []), fmt


def test_a_sample_of_the_corpus_ends_in_clean_errors(tmp_path: Path) -> None:
    outcomes = [run_case(tmp_path / str(i), case) for i, case in enumerate(sample(SAMPLE))]
    _check(outcomes)
    verdicts = {(o.fmt, o.verdict) for o in outcomes}
    # Not vacuous: every format is refused somewhere, and most are accepted somewhere.
    assert {fmt for fmt, v in verdicts if v == "refused"} == set(FORMATS)
    assert len({fmt for fmt, v in verdicts if v == "accepted"}) >= 6


FILE_NAMES = {fmt: TARGETS[fmt] if TARGETS[fmt] != "." else next(iter(SEEDS[fmt]))
              for fmt in FORMATS}  # fmt: skip


@settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.binary(max_size=400), fmt=st.sampled_from(FORMATS))
def test_raw_bytes_in_every_format(tmp_path: Path, data: bytes, fmt: str) -> None:
    files = {k: v.encode() for k, v in SEEDS[fmt].items()}
    case = Case(f"{fmt}: {data!r}", fmt, {**files, FILE_NAMES[fmt]: data}, TARGETS[fmt])
    _check([run_case(tmp_path / f"{len(list(tmp_path.iterdir()))}", case)])


_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["../../etc/shadow", "/dev/zero", "conda_dependencies.yml", CREDS, "9" * 300]),
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
_V1_SECTIONS = {
    "python": st.one_of(
        _JSON,
        st.fixed_dictionaries(
            {},
            optional={
                "userManagedDependencies": _JSON,
                "interpreterPath": _JSON,
                "condaDependencies": _JSON,
                "condaDependenciesFile": _JSON,
                "baseCondaEnvironment": _JSON,
            },
        ),
    ),
    "docker": st.one_of(
        _JSON,
        st.fixed_dictionaries(
            {},
            optional={
                "baseImage": _JSON,
                "baseDockerfile": _JSON,
                "baseImageRegistry": _JSON,
                "platform": _JSON,
                "shmSize": _JSON,
                "arguments": _JSON,
            },
        ),
    ),
    "spark": _JSON,
    "environmentVariables": _JSON,
    "databricks": _JSON,
    "r": _JSON,
    "name": _JSON,
    "version": _JSON,
}


@settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    doc=st.fixed_dictionaries({}, optional=_V1_SECTIONS),
    conda=st.one_of(st.none(), st.sampled_from(["", "{}", "- 1", "dependencies: [3.1]"])),
)
def test_azureml_v1_documents_of_every_shape(
    tmp_path: Path, doc: dict[str, Any], conda: str | None
) -> None:
    files = {"azureml_environment.json": json.dumps(doc).encode()}
    if conda is not None:
        files["conda_dependencies.yml"] = conda.encode()
    case = Case(f"v1: {doc!r} / {conda!r}", "azureml-v1", files, ".")
    _check([run_case(tmp_path / f"{len(list(tmp_path.iterdir()))}", case)])
