"""Every definition this repository holds keeps its hash, byte for byte.

``hashes.json`` was written by this file's ``python`` entry point from the
code as it stood before the parsers moved onto libraries made for the job
(py-rattler for conda match specs, dockerfile-parse for Dockerfile steps):
a library change must never move the hash of a definition users already
built, or every image would be rebuilt under a new hash. A change that means
to move hashes bumps ``RECIPE_VERSION`` and writes the table anew
(``python tests/definition/test_spec_hash_stable.py --write``). The uv
range the recipe builds with is recorded beside it: it moves only with a
``RECIPE_VERSION`` bump.

Covered: every definition file under ``examples/`` and ``tests/`` that
loads (both hashes: as written, and with a fixed base digest), the curated
catalog, and the canonical text of every conda match spec of those files.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pytest

from pulumi_mlenv import definition as specs
from pulumi_mlenv.definition.conda_specs import canonical_conda_spec, is_pinned_conda_spec
from pulumi_mlenv.definition.pinning import python_version

ROOT = Path(__file__).resolve().parents[2]
TABLE = Path(__file__).with_name("fixtures") / "hashes.json"
DIGEST = "sha256:" + "ab" * 32
SUFFIXES = (".yml", ".yaml", ".json")
#: Match specs of every shape users write, beside those of the files.
CONDA_TEXTS = (
    "python",
    "python=3.11",
    "python = 3.11",
    "python==3.11.*",
    "python 3.11.9",
    "Python>=3.10,<3.13",
    "pip",
    "NumPy>=1.2, <2",
    "numpy=1.26",
    "numpy==1.26",
    "numpy=1.26.4",
    "numpy 1.26.4 py311h_0",
    "numpy=1.26.4=py311h_0",
    "numpy==1.26.*",
    "numpy 1.26.*",
    "numpy[version='1.26.4']",
    "numpy[ version = '1.26.4' , build = 'py311*' ]",
    "numpy >=1.2",
    "numpy  >= 1.2 ,  < 2",
    "numpy>1.2|<1.0",
    "numpy!=1.25",
    "numpy~=1.26",
    "conda-forge::numpy=1.26.4",
    "conda-forge::numpy",
    "pytorch::pytorch=2.3.1",
    "defaults::openblas",
    "openblas",
    "_libgcc_mutex=0.1",
    "libstdcxx-ng>=12",
    "zope.interface=5.4",
    "r-base=4.3",
    "cudatoolkit=11.8.0",
    "numpy=1.26*",
    "numpy 1.*",
)


def _definition_files() -> list[Path]:
    found = []
    for top in ("examples", "tests"):
        for path in sorted((ROOT / top).rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix in SUFFIXES or path.name == "MLmodel":
                found.append(path)
    return found


def _hashes(spec: specs.EnvironmentSpec) -> list[str]:
    return [
        specs.compute_hash(spec),
        specs.compute_hash(specs.with_resolved_base(spec, DIGEST)),
    ]


def current_table() -> dict[str, object]:
    """What the code says today, in the table's shape."""
    files: dict[str, list[str]] = {}
    conda: dict[str, str | None] = {}
    pinned: dict[str, bool] = {}
    pythons: dict[str, str | None] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in _definition_files():
            try:
                spec = specs.load_definition(path)
                files[path.relative_to(ROOT).as_posix()] = _hashes(spec)
                pythons[path.relative_to(ROOT).as_posix()] = python_version(spec)
            except Exception:  # not a definition, or one of the refused fixtures
                continue
            section = spec.python.conda
            for dep in section.dependencies if section else ():
                conda[dep] = canonical_conda_spec(dep)
    for text in CONDA_TEXTS:
        conda[text] = canonical_conda_spec(text)
    for text, canonical in conda.items():
        pinned[text] = canonical is not None and is_pinned_conda_spec(canonical)
    curated = {spec.name: _hashes(spec) for spec in specs.catalog()}
    return {
        # The recipe and the uv range it builds with move together.
        "recipe": {"version": specs.RECIPE_VERSION, "uv": specs.UV_VERSIONS},
        "files": files,
        "curated": curated,
        "conda_specs": conda,
        # Not identity, but what a user is told is unpinned and which Python
        # the build asks for: kept as well.
        "conda_pinned": pinned,
        "python_versions": pythons,
    }


@pytest.fixture(scope="module")
def recorded() -> dict[str, dict[str, object]]:
    table: dict[str, dict[str, object]] = json.loads(TABLE.read_text())
    return table


@pytest.fixture(scope="module")
def now() -> dict[str, object]:
    return current_table()


@pytest.mark.parametrize(
    "part", ["files", "curated", "conda_specs", "conda_pinned", "python_versions"]
)
def test_every_recorded_definition_keeps_its_hash(
    part: str, recorded: dict[str, dict[str, object]], now: dict[str, dict[str, object]]
) -> None:
    moved = {
        key: (was, now[part].get(key))
        for key, was in recorded[part].items()
        if now[part].get(key) != was
    }
    assert moved == {}, f"{part}: these moved (recorded, now); bump RECIPE_VERSION if meant"


def test_the_uv_range_moves_only_with_the_recipe(
    recorded: dict[str, dict[str, object]], now: dict[str, dict[str, object]]
) -> None:
    # uv shapes the image: a new range under the same recipe would let two
    # images of one hash hold other packages. Bump RECIPE_VERSION with it.
    if now["recipe"]["version"] == recorded["recipe"]["version"]:
        assert now["recipe"]["uv"] == recorded["recipe"]["uv"]


def test_the_table_covers_the_formats_and_conda_specs(
    recorded: dict[str, dict[str, object]],
) -> None:
    # A table that lost its cases would pass for nothing.
    assert len(recorded["files"]) >= 30
    assert len(recorded["curated"]) >= 3
    assert len(recorded["conda_specs"]) >= 30


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        TABLE.write_text(json.dumps(current_table(), indent=1, sort_keys=True) + "\n")
    else:
        print(json.dumps(current_table(), indent=1, sort_keys=True))
