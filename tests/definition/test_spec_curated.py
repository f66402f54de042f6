"""The curated catalog: shipped, pinned, and recognised by hash only."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pulumi_mlenv.definition import (
    CURATED_PREFIX,
    catalog,
    curated_name,
    get_curated,
    unpinned_packages,
    with_resolved_base,
)
from pulumi_mlenv.errors import SpecError

EXPECTED = {
    "mlenv-curated-python311-minimal": None,
    "mlenv-curated-sklearn": "scikit-learn",
    "mlenv-curated-pandas-pyarrow": "pyarrow",
    "mlenv-curated-lightgbm-xgboost": "xgboost-cpu",
    "mlenv-curated-pytorch-cpu": "torch",
    "mlenv-curated-pyspark": "pyspark",
}


def test_the_catalog_has_the_six_promised_environments() -> None:
    entries = {e.name: e for e in catalog()}
    assert set(EXPECTED) <= set(entries)
    for name, package in EXPECTED.items():
        conda = entries[name].python.conda
        assert conda is not None and "python=3.11" in conda.dependencies
        if package:
            assert any(p.startswith(package + "==") for p in conda.pip), name


@pytest.mark.parametrize("entry", catalog(), ids=lambda e: e.name)
def test_every_entry_is_pinned_prefixed_and_uses_the_default_base(entry: object) -> None:
    from pulumi_mlenv.definition import EnvironmentSpec

    assert isinstance(entry, EnvironmentSpec)
    assert entry.name.startswith(CURATED_PREFIX)
    assert unpinned_packages(entry) == []
    assert entry.docker.base_image is None and entry.docker.base_dockerfile is None
    assert curated_name(entry) == entry.name


def test_curated_is_decided_by_hash_not_name() -> None:
    entry = get_curated("sklearn")
    assert curated_name(replace(entry, name="my-copy", version="9")) == entry.name
    assert curated_name(with_resolved_base(entry, "sha256:" + "1" * 64)) == entry.name
    conda = entry.python.conda
    assert conda is not None
    changed = replace(entry, python=replace(entry.python, conda=replace(conda, pip=conda.pip[:-1])))
    assert curated_name(changed) is None


def test_get_curated_suggests_close_names() -> None:
    assert get_curated("mlenv-curated-pyspark") is get_curated("pyspark")
    with pytest.raises(SpecError) as err:
        get_curated("sklaern")
    assert err.value.problems[0].fix == "did you mean 'mlenv-curated-sklearn'?"
