"""The cost of a replace in words (imaging.build_cost), and the lock a
preview predicts for it (policy.lock_preview.predict_pins): tables."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.imaging.build_cost import BuildCost, LayerEstimate, describe, format_bytes
from pulumi_mlenv.policy.lock_preview import predict_pins

REUSED = LayerEstimate("six", build=False, push_bytes=0, exact=True, seconds=None)
BASE = LayerEstimate("base", build=False, push_bytes=0, exact=True, seconds=None)


def built(slot: str, size: int | None, *, exact: bool = False, seconds: float | None = 4.0) -> Any:
    return LayerEstimate(slot, build=True, push_bytes=size, exact=exact, seconds=seconds)


CASES = [
    (
        "a pin change, sizes from the same slots",
        BuildCost(
            (BASE, *[REUSED] * 6, built("numpy", 30_000_000), built("lock file", 1_200_000)),
            overhead=4.0,
        ),
        "(2 of 9 layers to build, ~31 MB to push, ~12 s)",
    ),
    (
        "layers built before: exact bytes",
        BuildCost((REUSED, built("numpy", 2_400_000, exact=True)), overhead=1.5),
        "(1 of 2 layers to build, 2.4 MB to push, ~5.5 s)",
    ),
    (
        "a requirement not pinned: the count is a guess",
        BuildCost((REUSED, built("requests", 420_000)), overhead=0.0, uncertain=True),
        "(~1 of 2 layers to build, ~420 kB to push, ~4.0 s)",
    ),
    (
        "a new slot: size and time unknown for it",
        BuildCost((built("numpy", 3_000_000), built("torch", None, seconds=None)), overhead=2.0),
        "(2 layers to build, ~3.0 MB or more to push, ~6.0 s or more)",
    ),
    (
        "nothing known about sizes or times",
        BuildCost((REUSED, built("x", None, seconds=None)), overhead=None),
        "(1 of 2 layers to build, push size unknown, time unknown)",
    ),
    (
        "every layer in the registry",
        BuildCost((BASE, REUSED), overhead=0.7),
        "(0 of 2 layers to build, nothing to push, ~0.7 s)",
    ),
    (
        "one layer, to build",
        BuildCost((built("interpreter check", 0, exact=True, seconds=0.2),), overhead=1.0),
        "(1 layer to build, nothing to push, ~1.2 s)",
    ),
    (
        "first build here",
        BuildCost(tuple(built(str(i), None) for i in range(9)), history=False),
        "(9 layers to build, first build here)",
    ),
]


@pytest.mark.parametrize(("cost", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cost_words(cost: BuildCost, words: str) -> None:
    assert describe(cost) == words


@pytest.mark.parametrize(
    ("size", "text"),
    [(999, "999 B"), (420_000, "420 kB"), (2_400_000, "2.4 MB"), (31_400_000, "31 MB"),
     (1_500_000_000, "1.5 GB")],
)  # fmt: skip
def test_format_bytes(size: int, text: str) -> None:
    assert format_bytes(size) == text


def spec(*pip: str) -> Any:
    return parse_definition(
        {"name": "t", "python": {"conda": {"dependencies": ["python=3.11", {"pip": list(pip)}]}}}
    )


LOCK = ("idna==3.7", "numpy==2.1.3", "requests==2.32.3", "urllib3==2.2.2")
OLD = spec("numpy==2.1.3", "requests")

PREDICTIONS = [
    ("a pin moves", spec("numpy==2.2.0", "requests"),
     ("idna==3.7", "numpy==2.2.0", "requests==2.32.3", "urllib3==2.2.2"), False),
    ("an unpinned requirement the lock satisfies keeps its version", spec("numpy==2.1.3",
     "requests>=2"), LOCK, False),
    ("a range the lock no longer satisfies", spec("numpy==2.1.3", "requests>=3"),
     ("idna==3.7", "numpy==2.1.3", "requests==?", "urllib3==2.2.2"), True),
    ("a new unpinned requirement", spec("numpy==2.1.3", "requests", "six"),
     ("idna==3.7", "numpy==2.1.3", "requests==2.32.3", "six==?", "urllib3==2.2.2"), True),
    ("a removed requirement leaves", spec("numpy==2.1.3"),
     ("idna==3.7", "numpy==2.1.3", "urllib3==2.2.2"), True),
    ("a URL requirement is installed in one step", spec("numpy @ https://example.org/n.whl"),
     None, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("new", "pins", "uncertain"), [p[1:] for p in PREDICTIONS], ids=[p[0] for p in PREDICTIONS]
)
def test_predict_pins(new: Any, pins: tuple[str, ...] | None, uncertain: bool) -> None:
    got = predict_pins(LOCK, OLD, new)
    assert (got.pins, got.uncertain) == (pins, uncertain)
