"""A rerun uses the recorded run's image digest, lock and source snapshot,
whatever the environment's latest version is (R2: go back to the exact
environment of a past result); a registered NAME[:VERSION] runs as it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.runs import PROBE, Cli, definition

pytestmark = pytest.mark.docker


def test_rerun_uses_the_same_digest_after_the_environment_got_a_new_version(
    cli: Cli, probe: Path, tmp_path: Path
):
    first_def = definition(tmp_path / "v1", "rerun-env", ["six==1.16.0"])
    first = cli.json(
        "run", "submit", str(probe), "--env", str(first_def), "-c", "docker", "--json", "--", "six"
    )
    assert first["environment"]["version"] == "1"
    # The environment moves on: a new definition under the same name is version 2.
    second_def = definition(tmp_path / "v2", "rerun-env", ["six==1.15.0"])
    newer = cli.json(
        "run", "submit", str(probe), "--env", str(second_def), "-c", "docker", "--json", "--", "six"
    )
    assert newer["environment"]["version"] == "2"
    assert newer["environment"]["image"] != first["environment"]["image"]
    # The latest version by name is the new one...
    latest = cli.json("run", "submit", str(probe), "--env", "rerun-env", "-c", "local", "--json",
                      "--", "six")  # fmt: skip
    assert latest["environment"]["version"] == "2" and latest["lock"] == ["six==1.15.0"]
    # ...and a rerun of the first run still gets the first image and lock.
    (probe.parent / "probe.py").write_text("raise SystemExit('the folder changed')\n")
    again = cli.json("run", "rerun", first["id"][:8], "--json")
    assert again["environment"] == first["environment"]
    assert again["lock"] == first["lock"] == ["six==1.16.0"]
    assert again["source_hash"] == first["source_hash"]  # the snapshot, not the folder
    assert (again["arguments"], again["rerun_of"]) == (["six"], first["id"])
    report = json.loads((Path(again["outputs"]) / "probe.json").read_text())
    assert report["driver"]["versions"] == {"six": "1.16.0"}
    assert again["outputs"] != first["outputs"]
    # A registered version by number runs that version, whatever the latest is.
    fresh = tmp_path / "src2"
    fresh.mkdir()
    (fresh / "probe.py").write_text(PROBE)
    pinned = cli.json(
        "run", "submit", str(fresh / "probe.py"), "--env", "rerun-env:1", "-c", "local", "--json",
        "--", "six",
    )  # fmt: skip
    assert pinned["environment"]["version"] == "1" and pinned["lock"] == ["six==1.16.0"]
