"""The service's small shared helpers: ``records.record_of`` and
``folders.fill_once``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from pulumi_mlenv.service.folders import fill_once
from pulumi_mlenv.service.records import record_of


@dataclass(frozen=True)
class _Pair:
    name: str
    size: int


def test_record_of_copies_fields_and_takes_overrides() -> None:
    row = SimpleNamespace(name="a", size=1, other="ignored")
    assert record_of(_Pair, row) == _Pair("a", 1)
    assert record_of(_Pair, row, size=2) == _Pair("a", 2)


def test_record_of_refuses_an_unknown_override_and_a_missing_field() -> None:
    with pytest.raises(TypeError, match="no field sise"):
        record_of(_Pair, SimpleNamespace(name="a", size=1), sise=2)
    with pytest.raises(AttributeError):
        record_of(_Pair, SimpleNamespace(name="a"))


def test_fill_once_fills_a_missing_folder_and_keeps_an_existing_one(tmp_path: Path) -> None:
    calls: list[Path] = []

    def fill(folder: Path) -> None:
        calls.append(folder)
        (folder / "f").write_text("x")

    target = tmp_path / "store" / "abc"
    assert fill_once(target, fill, prefix=".t-") == target
    assert (target / "f").read_text() == "x"
    assert fill_once(target, fill, prefix=".t-") == target
    assert len(calls) == 1
    assert [p.name for p in target.parent.iterdir()] == ["abc"]  # no temporary left


def test_fill_once_leaves_nothing_when_fill_fails(tmp_path: Path) -> None:
    def fail(folder: Path) -> None:
        (folder / "half").write_text("x")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        fill_once(tmp_path / "abc", fail, prefix=".t-")
    assert list(tmp_path.iterdir()) == []
