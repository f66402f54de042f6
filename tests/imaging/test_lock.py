"""Locks (R16) and their differences (R18)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulumi_mlenv.imaging.lock import diff_locks, parse_lock


def test_parse_lock_normalises_and_sorts() -> None:
    text = "# comment\nSix==1.16.0\nidna==3.7\n\n-e ./x\nfoo_bar @ https://h/f.whl\n"
    assert parse_lock(text) == ("foo-bar @ https://h/f.whl", "idna==3.7", "six==1.16.0")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (("six==1.16.0",), ("six==1.16.0",), []),
        (("six==1.15.0",), ("six==1.16.0",), ["six 1.15.0 -> 1.16.0"]),
        ((), ("idna==3.7",), ["+ idna 3.7"]),
        (("idna==3.7",), (), ["- idna 3.7"]),
    ],
)
def test_diff_locks(old: tuple[str, ...], new: tuple[str, ...], expected: list[str]) -> None:
    assert diff_locks(old, new) == expected


names = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
versions = st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True)


@given(st.dictionaries(names, versions))
def test_a_lock_round_trips_and_has_no_diff_with_itself(entries: dict[str, str]) -> None:
    lock = parse_lock("\n".join(f"{n}=={v}" for n, v in entries.items()))
    assert parse_lock("\n".join(lock)) == lock
    assert diff_locks(lock, lock) == []
