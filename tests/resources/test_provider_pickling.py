"""Making many resources: the SDK's provider serialization must not nest a
pickler wrapper per resource (quadratic work, then RecursionError at ~960)."""

from __future__ import annotations

import pickle

from pulumi.dynamic.dynamic import serialize_provider

from pulumi_mlenv.resources._provider import unwrap_pickler
from pulumi_mlenv.resources.environment import EnvironmentProvider


def _depth() -> int:
    fn, depth = pickle._Pickler._batch_setitems, 0  # type: ignore[attr-defined]
    while fn.__closure__:
        fn = next(c.cell_contents for c in fn.__closure__ if callable(c.cell_contents))
        depth += 1
    return depth


def test_two_thousand_providers_serialize_without_nesting_the_pickler() -> None:
    blobs = set()
    for _ in range(2000):  # what a program of 2,000 environments does
        unwrap_pickler()
        blobs.add(serialize_provider(EnvironmentProvider()))
    assert _depth() <= 1
    assert len(blobs) == 1  # the same provider serializes to the same state, every time


def test_without_the_unwrap_the_sdk_nests_a_wrapper_per_resource() -> None:
    unwrap_pickler()
    for _ in range(5):
        serialize_provider(EnvironmentProvider())
    assert _depth() == 5  # the SDK's behaviour this module works around
    unwrap_pickler()
    assert _depth() == 0
