"""service.verify.pin_to_lock: the lock decides the versions of a rebuild
(pure; the rebuilds are in tests/test_reproducible.py)."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_mlenv.definition import compute_hash, parse_definition
from pulumi_mlenv.service.verify import pin_to_lock


def _spec(deps: list[Any]) -> Any:
    return parse_definition({"name": "e", "python": {"conda": {"dependencies": deps}}})


def _pip(spec: Any) -> list[str]:
    return list(spec.python.conda.pip)


@pytest.mark.parametrize(
    ("pip", "lock", "expected"),
    [
        # unpinned: the lock's version; the dependencies it brought are pinned too
        (["requests"], ["certifi==2024.8.30", "requests==2.32.3"],
         ["requests==2.32.3", "certifi==2024.8.30"]),
        # extras and markers stay, a range becomes the locked version
        (["requests[socks]>=2; python_version >= '3'"], ["requests==2.32.3", "pysocks==1.7.1"],
         ['requests[socks]==2.32.3; python_version >= "3"', "pysocks==1.7.1"]),
        # a direct URL stays as written
        (["six @ https://example.org/six-1.16.0-py2.py3-none-any.whl"],
         ["six @ https://example.org/six-1.16.0-py2.py3-none-any.whl"],
         ["six@ https://example.org/six-1.16.0-py2.py3-none-any.whl"]),
        # nothing recorded (a user-managed image, an unrecorded one): unchanged
        (["six"], [], ["six"]),
    ],
)  # fmt: skip
def test_pip_requirements_get_the_locked_versions(
    pip: list[str], lock: list[str], expected: list[str]
) -> None:
    spec = _spec(["python=3.11", {"pip": pip}])
    pinned = pin_to_lock(spec, tuple(lock))
    assert [p.replace(" @ ", "@ ") for p in _pip(pinned)] == [
        e.replace(" @ ", "@ ") for e in expected
    ]


def test_with_conda_packages_only_the_written_pip_requirements_are_pinned() -> None:
    spec = _spec(["python=3.11", "zlib", {"pip": ["six"]}])
    lock = ("python==3.11.9", "six==1.16.0", "zlib==1.3.1")
    assert _pip(pin_to_lock(spec, lock)) == ["six==1.16.0"]
    assert pin_to_lock(spec, lock).python.conda.dependencies == spec.python.conda.dependencies


def test_pinning_changes_what_is_installed_not_the_hash_it_is_built_under() -> None:
    spec = _spec(["python=3.11", {"pip": ["six"]}])
    pinned = pin_to_lock(spec, ("six==1.16.0",))
    assert compute_hash(pinned) != compute_hash(spec)  # so verify builds under the recorded one
