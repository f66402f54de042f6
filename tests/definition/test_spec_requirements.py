"""Canonical requirement strings: cosmetic spellings agree, and the fast path
agrees with the full PEP 508 parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.requirements import InvalidRequirement

from pulumi_mlenv.definition.conda_specs import canonical_conda_spec, is_pinned_conda_spec
from pulumi_mlenv.definition.pep508 import _canonicalise, canonical_requirement, fast_canonical

SAME = [
    ("Numpy == 1.26.4", "numpy==1.26.4"),
    ("numpy==1.26.04", "numpy==1.26.4"),
    ("Scikit_Learn[Pandas,alldeps]>=1.0,<2", "scikit-learn[alldeps,pandas]<2,>=1.0"),
    ("zope.interface >= 5", "zope-interface>=5"),
    ("numpy>=1,>=1", "numpy>=1"),
    ("torch==2.3.1+CPU", "torch==2.3.1+cpu"),
    ("pkg ; python_version<'3.9'", 'pkg; python_version < "3.9"'),
    ("pkg @ https://x.org/pkg-1.0.whl", "pkg @ https://x.org/pkg-1.0.whl"),
]


@pytest.mark.parametrize(("written", "canonical"), SAME)
def test_canonical_requirement(written: str, canonical: str) -> None:
    assert canonical_requirement(written) == canonical
    assert canonical_requirement(canonical) == canonical


CONDA = [
    ("python = 3.11", "python=3.11", True),  # conda's usual pin (see is_pinned_conda_spec)
    ("NumPy>=1.2, <2", "numpy>=1.2,<2", False),
    ("conda-forge::numpy=1.26.4", "conda-forge::numpy=1.26.4", True),
    ("numpy 1.26.4 py311h_0", "numpy 1.26.4 py311h_0", True),
    ("numpy=1.26.4=py311h_0", "numpy=1.26.4=py311h_0", True),
    ("numpy==1.26.*", "numpy==1.26.*", False),
    ("numpy[version='1.26.4']", "numpy[version='1.26.4']", True),
    ("openblas", "openblas", False),
]


@pytest.mark.parametrize(("written", "canonical", "pinned"), CONDA)
def test_conda_specs(written: str, canonical: str, pinned: bool) -> None:
    assert canonical_conda_spec(written) == canonical
    assert is_pinned_conda_spec(canonical) is pinned


NAMES = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,6}[A-Za-z0-9])?", fullmatch=True)
VERSIONS = st.from_regex(r"(0|[1-9][0-9]?|0[0-9])(\.[0-9]{1,2}){0,3}(\.\*)?", fullmatch=True)
OPS = st.sampled_from(["==", "!=", "~=", ">=", "<=", "<", ">", "==="])
SPACE = st.sampled_from(["", " ", "  "])


@st.composite
def requirement_texts(draw: st.DrawFn) -> str:
    text = draw(NAMES) + draw(SPACE)
    if draw(st.booleans()):
        text += "[" + ",".join(draw(st.lists(NAMES, min_size=1, max_size=3))) + "]"
    specs = [
        draw(SPACE) + draw(OPS) + draw(SPACE) + draw(VERSIONS)
        for _ in range(draw(st.integers(0, 3)))
    ]
    return text + ",".join(specs) + draw(SPACE)


@settings(max_examples=1000)
@given(requirement_texts())
def test_the_fast_path_agrees_with_the_full_parser(text: str) -> None:
    fast = fast_canonical(text)
    try:
        slow = _canonicalise(text)
    except InvalidRequirement:
        assert fast is None
        return
    assert fast is None or fast == slow
