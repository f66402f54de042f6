"""Several processes registering versions of one name in one workspace at once
(a SQLite file, a PostgreSQL database)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pulumi_mlenv.workspace import Workspace
from support.waiting import wait_for

# Each child opens its own Workspace, waits for the start file, then registers
# its hashes one by one and prints the versions it got.
CHILD = """
import json, os, sys, time
from pulumi_mlenv.workspace import Workspace
db, go, hashes, ready = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
ws = Workspace(db)
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.001)
got = [ws.register_version("shared", h, version=None, image="img@" + h,
                           definition={"hash": h}).version for h in hashes]
print(json.dumps(got))
"""


def run_children(db: str, go: Path, per_child: list[list[str]]) -> list[list[str]]:
    readies = [go.with_name(f"ready-{i}") for i in range(len(per_child))]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, db, str(go), json.dumps(hashes), str(ready)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for hashes, ready in zip(per_child, readies, strict=True)
    ]

    def all_ready() -> bool:  # every child has opened the database, waits at the start line
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"a child ended early: {proc.communicate()[1]}")
        return all(r.exists() for r in readies)

    wait_for(all_ready, "the children to open the workspace")
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    return results


CASES = [
    # (hashes per child, what the versions must be)
    pytest.param([[f"a{i}" for i in range(15)], [f"b{i}" for i in range(15)]], "distinct",
                 id="different-hashes-get-distinct-numbers"),
    pytest.param([["same"], ["same"], ["same"]], "one", id="same-hash-is-idempotent"),
]  # fmt: skip


@pytest.mark.parametrize(("per_child", "expect"), CASES)
def test_concurrent_registration(
    workspace_url: str, tmp_path: Path, per_child: list[list[str]], expect: str
):
    db = workspace_url
    Workspace(db).close()  # tables exist before the race, as after `pulumi up` of a Workspace
    results = run_children(db, tmp_path / "go", per_child)
    registered = Workspace(db).list_versions("shared")
    if expect == "distinct":
        everything = [v for got in results for v in got]
        total = sum(len(h) for h in per_child)
        assert sorted(everything, key=int) == [str(i) for i in range(1, total + 1)]
        assert len(registered) == total
        # Each child's own registrations are in increasing order.
        for got in results:
            assert [int(v) for v in got] == sorted(int(v) for v in got)
        by_version = {r.version: r.env_hash for r in registered}
        for hashes, got in zip(per_child, results, strict=True):
            assert [by_version[v] for v in got] == hashes
    else:
        assert results == [["1"]] * len(per_child)
        assert [r.version for r in registered] == ["1"]


def test_concurrent_first_open_creates_tables_once(workspace_url: str, tmp_path: Path):
    """Processes that open a fresh database at the same time all succeed (the
    schema is made once, under a lock)."""
    results = run_children(workspace_url, tmp_path / "go", [["x"], ["y"], ["z"]])
    assert sorted(v for got in results for v in got) == ["1", "2", "3"]


# Each child holds and releases train:1 as its own stack, over and over; the
# last child then holds it for good.
HOLDER = """
import sys
from pulumi_mlenv.workspace import Holder, Workspace
url, me, keep = sys.argv[1], sys.argv[2], sys.argv[3] == "keep"
ws = Workspace(url)
holder = Holder.stack("proj/" + me)
for _ in range(15):
    ws.hold("train", "1", holder)
    ws.release("train", "1", holder)
if keep:
    ws.hold("train", "1", holder)
"""


def test_concurrent_holds_and_releases_never_archive_a_held_version(workspace_url: str) -> None:
    with Workspace(workspace_url) as ws:
        ws.register_version("train", "h", version="1", image="img@h", definition={})
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HOLDER, workspace_url, f"s{i}", "keep" if i == 0 else "go"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate()
        assert proc.returncode == 0, err
    with Workspace(workspace_url) as ws:
        train = ws.get_version("train", "1")
        assert train is not None
        assert train.holders == ("stack:proj/s0",)
        assert train.status == "active"


# Each child registers its model contents one by one and prints the versions.
MODEL_CHILD = """
import json, os, sys, time
from pulumi_mlenv.workspace.serving_store import ServingStore
db, go, hashes = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
store = ServingStore(db)
while not os.path.exists(go):
    time.sleep(0.001)
got = [store.register_model("iris", content_hash=h, uri="/m/" + h, source_path="/s",
                            size=1, files=("model.pkl",))[0].version for h in hashes]
print(json.dumps(got))
"""


@pytest.mark.parametrize("same", [False, True], ids=["different-contents", "same-content"])
def test_concurrent_model_registrations_never_share_a_number(
    workspace_url: str, tmp_path: Path, same: bool
) -> None:
    from pulumi_mlenv.workspace.serving_store import ServingStore

    ServingStore(workspace_url).close()
    per_child = [["x"] * 5] * 4 if same else [[f"c{c}-{i}" for i in range(10)] for c in range(4)]
    go = tmp_path / "go-models"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MODEL_CHILD, workspace_url, str(go), json.dumps(hashes)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for hashes in per_child
    ]  # fmt: skip
    time.sleep(1.0)
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    with ServingStore(workspace_url) as store:
        models = store.list_models("iris")
    if same:
        assert results == [["1"] * 5] * 4 and [m.version for m in models] == ["1"]
    else:
        everything = sorted((v for got in results for v in got), key=int)
        assert everything == [str(i) for i in range(1, 41)]
        by_version = {m.version: m.content_hash for m in models}
        for hashes, got in zip(per_child, results, strict=True):
            assert [by_version[v] for v in got] == hashes
