"""When a Run resource runs again, and the words its preview prints."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_mlenv.policy.run import decide_run

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
OLD: dict[str, Any] = {
    "env_hash": "a" * 64,
    "env_name": "train",
    "env_version": "1",
    "source_hash": "s" * 64,
    "script": "train.py",
    "arguments": ["--epochs", "1"],
    "compute": "docker",
    "workspace": "/w/ws.db",
}

CASES = [
    # (changes, replaced inputs, reasons)
    ({}, (), ()),
    ({"workspace": "/elsewhere.db"}, (), ()),
    ({"env_version": "2"}, (), ()),  # a new version with the same hash: the same environment
    ({"env_hash": "b" * 64, "env_version": "2"}, ("env_hash",),
     ("environment changed: hash aaaaaaaaaaaa -> bbbbbbbbbbbb (train:1 -> train:2)",)),
    ({"env_hash": UNKNOWN}, ("env_hash",),
     ("environment changed: hash aaaaaaaaaaaa -> (known after the environment is ready)",)),
    ({"source_hash": "t" * 64}, ("source_hash",),
     ("source changed: content hash ssssssssssss -> tttttttttttt",)),
    ({"arguments": ["--epochs", "2"]}, ("arguments",),
     ("arguments changed: ['--epochs', '1'] -> ['--epochs', '2']",)),
    ({"arguments": ("--epochs", "1")}, (), ()),  # a tuple from state is the same list
    ({"compute": "spark-local", "script": "job.py"}, ("script", "compute"),
     ("script changed: train.py -> job.py", "compute changed: docker -> spark-local")),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "replaces", "reasons"), CASES)
def test_run_decisions(
    changes: dict[str, Any], replaces: tuple[str, ...], reasons: tuple[str, ...]
) -> None:
    decision = decide_run(OLD, {**OLD, **changes})
    assert decision.replaces == replaces
    assert decision.reasons == reasons
