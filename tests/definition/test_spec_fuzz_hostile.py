"""Fuzz: broken and hostile definitions of every format end in a clean error.

Over 10,000 cases in all: a generated corpus (``_corpus.py``, fixed seed) of
broken folders of each format, plus derandomised hypothesis cases of raw
bytes and wrong-typed Azure ML v1 documents. For every case:

- the only exceptions are ``SpecError`` / ``MlenvError`` (no traceback);
- no error shows the secret file beside the folder or a URL credential;
- it takes under 2 s of CPU time (CPU, not wall time: the machine is shared,
  and what is bounded here is the work, e.g. no quadratic regex);
- its peak of traced memory (tracemalloc) stays under 200 MB.
"""

from __future__ import annotations

import json
import os
import time
import traceback
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _corpus import CREDS, SECRET, SEEDS, TARGETS, TOKEN, cases
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulumi_mlenv.definition import compute_hash, load_definition, to_dict, unpinned_packages
from pulumi_mlenv.errors import MlenvError

# Broken inputs repeat lines on purpose: the warnings they draw are expected.
pytestmark = pytest.mark.filterwarnings("ignore::pulumi_mlenv.errors.DefinitionWarning")

CASES_PER_FORMAT = 1400
CPU_SECONDS = 2.0
PEAK_BYTES = 200 * 1024 * 1024


def _folder(base: Path, fmt: str) -> Path:
    """The definition folder, with traps beside and inside it."""
    base.mkdir(parents=True, exist_ok=True)
    (base / "secret.txt").write_text(SECRET + "\n")
    folder = base / "def"
    for sub in ("sub", "ctx"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    if not (folder / "pipe").exists():
        os.mkfifo(folder / "pipe")
        (folder / "escape").symlink_to("../secret.txt")
    (folder / "loop.txt").write_text("-r loop.txt\n")
    for name, text in SEEDS[fmt].items():
        (folder / name).write_text(text)
    return folder


def _attempt(path: Path) -> str | None:
    """Load and hash; the error text, or None when the definition is valid.
    Anything but our errors propagates."""
    try:
        spec = load_definition(path)
        compute_hash(spec)
        unpinned_packages(spec)
        to_dict(spec)
    except MlenvError as err:
        return str(err)
    return None


class _Watch:
    """Per-case CPU time and traced-memory peak, and what went wrong."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.slowest = 0.0
        self.peak = 0
        self.count = 0

    def run(self, ident: str, path: Path, *, trace: bool = True) -> None:
        self.count += 1
        if trace:  # only around the case: tracing triples the cost of Python code
            tracemalloc.start()
        start = time.process_time()
        try:
            message = _attempt(path)
        except Exception:  # the point of the suite: report, never crash
            self.failures.append(f"{ident}: traceback\n{traceback.format_exc()}")
            return
        finally:
            elapsed = time.process_time() - start
            peak = tracemalloc.get_traced_memory()[1] if trace else 0
            tracemalloc.stop()
        self.slowest, self.peak = max(self.slowest, elapsed), max(self.peak, peak)
        if elapsed > CPU_SECONDS:
            self.failures.append(f"{ident}: {elapsed:.2f} s of CPU")
        if peak > PEAK_BYTES:
            self.failures.append(f"{ident}: peak {peak / 2**20:.0f} MB")
        if message and (SECRET in message or TOKEN in message or "PATH=" in message):
            self.failures.append(f"{ident}: the error shows a secret: {message[:300]}")

    def check(self) -> None:
        assert not self.failures, f"{len(self.failures)} bad cases:\n" + "\n".join(
            self.failures[:5]
        )


@pytest.fixture
def watch() -> Iterator[_Watch]:
    w = _Watch()
    yield w
    print(f"{w.count} cases, slowest {w.slowest:.3f} s CPU, peak {w.peak / 2**20:.1f} MB")


@pytest.mark.parametrize("fmt", list(SEEDS))
def test_corpus_of_broken_folders(tmp_path: Path, watch: _Watch, fmt: str) -> None:
    folder = _folder(tmp_path, fmt)
    for case in cases(fmt, CASES_PER_FORMAT):
        for name, data in case.files.items():
            (folder / name).write_bytes(data)
        watch.run(case.ident, folder / case.target)
    assert watch.count == CASES_PER_FORMAT
    watch.check()


FILE_NAMES = {fmt: TARGETS[fmt] if TARGETS[fmt] != "." else "azureml_environment.json"
              for fmt in SEEDS}  # fmt: skip


@settings(
    max_examples=2300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.binary(max_size=400), fmt=st.sampled_from(list(SEEDS)))
def test_raw_bytes_in_every_format(tmp_path: Path, data: bytes, fmt: str) -> None:
    folder = tmp_path / fmt
    folder.mkdir(exist_ok=True)
    (folder / FILE_NAMES[fmt]).write_bytes(data)
    target = folder if fmt == "azureml-v1" else folder / FILE_NAMES[fmt]
    w = _Watch()
    w.run(f"{fmt}: {data!r}", target, trace=False)  # 400 bytes: memory is the corpus's job
    w.check()


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
    max_examples=700,
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
    folder = tmp_path / "v1"
    folder.mkdir(exist_ok=True)
    (folder / "azureml_environment.json").write_text(json.dumps(doc))
    conda_file = folder / "conda_dependencies.yml"
    if conda is None:
        conda_file.unlink(missing_ok=True)
    else:
        conda_file.write_text(conda)
    w = _Watch()
    w.run(f"v1: {doc!r} / {conda!r}", folder, trace=False)
    w.check()
