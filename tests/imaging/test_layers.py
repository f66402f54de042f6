"""How a resolved environment is laid into layers: a layer per distribution,
the long tail grouped under the layer limit, one pin change moves one layer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulumi_mlenv.imaging.layers import (
    LARGE,
    MAX_PACKAGE_LAYERS,
    SMALL_PER_LAYER,
    group_pins,
    pinned_lock,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("numpy==2.1.3\nrequests==2.32.3\n", ("numpy==2.1.3", "requests==2.32.3")),
        ("Scikit_Learn==1.5.2\n# a comment\n\nnumpy==2.1.3  # via pandas\n",
         ("numpy==2.1.3", "scikit-learn==1.5.2")),
        ("", ()),
        ("six @ https://example.org/six-1.16.0-py3-none-any.whl\nidna==3.7\n", None),
        ("-e ./src/mypkg\n", None),
        ("torch==2.5.1+cpu\n", ("torch==2.5.1+cpu",)),
    ],
)  # fmt: skip
def test_pinned_lock(text: str, expected: tuple[str, ...] | None) -> None:
    assert pinned_lock(text) == expected


@pytest.mark.parametrize(
    ("pins", "expected"),
    [
        (
            ("idna==3.7", "numpy==2.1.3", "six==1.16.0"),
            [("numpy", ("numpy==2.1.3",)), ("group-00-of-01", ("idna==3.7", "six==1.16.0"))],
        ),
        (
            ("nvidia-cublas-cu12==12.4.5.8", "torch==2.5.1"),
            [
                ("nvidia-cublas-cu12", ("nvidia-cublas-cu12==12.4.5.8",)),
                ("torch", ("torch==2.5.1",)),
            ],
        ),
        ((), []),
    ],
)
def test_large_distributions_get_a_layer_each_the_rest_share(
    pins: tuple[str, ...], expected: list[tuple[str, tuple[str, ...]]]
) -> None:
    assert [(g.name, g.pins) for g in group_pins(pins)] == expected


def test_the_long_tail_shares_a_few_layers() -> None:
    pins = tuple(f"pkg{i:03d}==1.0" for i in range(80))
    groups = group_pins(pins)
    assert len(groups) == 80 // SMALL_PER_LAYER
    assert max(len(g.pins) for g in groups) <= 3 * SMALL_PER_LAYER


_names = st.lists(
    st.from_regex(r"[a-z][a-z0-9-]{0,12}[a-z0-9]", fullmatch=True) | st.sampled_from(sorted(LARGE)),
    min_size=1,
    max_size=200,
    unique=True,
)


@given(names=_names, limit=st.integers(min_value=1, max_value=MAX_PACKAGE_LAYERS))
def test_groups_hold_every_pin_once_within_the_limit(names: list[str], limit: int) -> None:
    pins = tuple(sorted(f"{n}==1.0" for n in names))
    groups = group_pins(pins, limit)
    assert len(groups) <= limit
    flat = [pin for group in groups for pin in group.pins]
    assert sorted(flat) == list(pins)
    assert len({g.name for g in groups}) == len(groups)


@given(names=_names, limit=st.integers(min_value=1, max_value=MAX_PACKAGE_LAYERS), pick=st.data())
def test_one_pin_change_moves_one_group(names: list[str], limit: int, pick: st.DataObject) -> None:
    pins = tuple(sorted(f"{n}==1.0" for n in names))
    changed_name = pick.draw(st.sampled_from(names))
    changed = tuple(
        sorted(p if p != f"{changed_name}==1.0" else f"{changed_name}==2.0" for p in pins)
    )
    before = set(group_pins(pins, limit))
    after = set(group_pins(changed, limit))
    assert len(before - after) == 1 and len(after - before) == 1
