"""What the pages show, from service records (pure functions; a real SQLite
workspace filled through the service, image builds in memory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulumi_mlenv.service import browse
from pulumi_mlenv.ui import lineage, views
from support.fakes import FakeWorld
from support.ui_workspace import LOG_LINE, SECRET, Filled, fill


@pytest.fixture
def filled(tmp_path: Path) -> Filled:
    return fill(FakeWorld(tmp_path))


@pytest.fixture
def snap(filled: Filled) -> browse.Snapshot:
    return browse.read_workspace(filled.workspace_url)


def test_environment_rows_count_versions_and_runs(snap: browse.Snapshot) -> None:
    [row] = views.environment_rows(snap)
    assert (row.name, row.versions, row.active, row.latest, row.runs) == ("train", 2, 2, "2", 1)
    assert len(row.latest_hash) == 12


def test_changes_between_versions_are_the_explain_lines(filled: Filled) -> None:
    changes = views.changes_of(browse.explain("train:1", "train:2", filled.workspace_url))
    assert changes.definition == ("pip: six==1.16.0 -> six==1.17.0",)
    assert changes.lock == ("six 1.16.0 -> 1.17.0",)
    assert changes.lock_known and not changes.same_hash


def test_the_same_version_compared_says_so(filled: Filled) -> None:
    changes = views.changes_of(browse.explain("train:1", "train:1", filled.workspace_url))
    assert changes.messages == ("same hash: same definition",)
    assert changes.definition == () and changes.lock == ()


def test_packages_and_lock_of_a_version(snap: browse.Snapshot) -> None:
    v1 = views.versions_of(snap, "train")[0]
    assert views.packages_of(v1.definition) == ["conda: python=3.11", "pip: six==1.16.0"]
    assert snap.locks[v1.digest] == ("six==1.16.0",)


def test_variable_values_never_reach_a_view(snap: browse.Snapshot) -> None:
    v1 = views.versions_of(snap, "train")[0]
    shown = views.masked_variables(v1.environment_variables)
    assert {v.name: v.value for v in shown} == {
        "GREETING": "hello",
        "API_TOKEN": "secret: read from $API_TOKEN when a run starts",
    }
    # A value an older workspace kept under a credential's name is hidden;
    # one it kept names only for says so; a URL's credentials are masked.
    [old] = views.masked_variables((("API_TOKEN", SECRET),))
    assert old.value == views.HIDDEN
    [names_only] = views.masked_variables((("GREETING", "(not stored)"),))
    assert names_only.value == views.NOT_STORED
    [url] = views.masked_variables((("INDEX", "https://me:pa55@pypi.example/simple"),))
    assert "pa55" not in url.value and "pypi.example" in url.value
    assert SECRET not in views.definition_text(v1.definition)


def test_credentials_in_a_definition_are_masked() -> None:
    pip = ["--index-url https://u:tok@pypi.example/simple", "x==1"]
    definition = {"python": {"conda": {"dependencies": [{"pip": pip}]}}}
    assert "tok" not in " ".join(views.packages_of(definition))
    assert "tok" not in views.definition_text(definition)


def test_traffic_shares_match_deployments_by_address(snap: browse.Snapshot) -> None:
    [endpoint] = snap.endpoints
    shares = views.traffic_of(endpoint, snap.deployments)
    assert [(t.name, t.weight, t.percent) for t in shares] == [
        ("blue", 90, 90.0),
        ("green", 10, 10.0),
    ]
    assert [t.deployment.instance for t in shares if t.deployment] == ["blue-0001", "green-0001"]


def test_run_log_and_outputs(filled: Filled) -> None:
    log = browse.read_log(filled.run)
    assert log.found and LOG_LINE in log.text and not log.truncated
    files, more = browse.read_outputs(filled.run)
    assert [(f.path, f.size) for f in files] == [("model.txt", 8)] and not more


def test_a_long_log_shows_its_end_from_a_line_start(filled: Filled) -> None:
    Path(filled.run.logs_path).write_text("".join(f"line {i}\n" for i in range(10_000)))
    log = browse.read_log(filled.run, max_bytes=100)
    assert log.truncated and log.text.endswith("line 9999\n")
    assert log.text.startswith("line ")


def test_lineage_goes_from_the_version_to_the_endpoint(
    snap: browse.Snapshot, filled: Filled
) -> None:
    graph = lineage.build(snap)
    ids = {n.id: n for n in graph.nodes}
    run = f"run:{filled.run.id}"
    chain = [
        ("env:train:1", run, ""),
        (run, "model:iris:1", ""),
        ("model:iris:1", "deploy:blue-0001", ""),
        ("deploy:blue-0001", "endpoint:scoring", "90%"),
        ("deploy:green-0001", "endpoint:scoring", "10%"),
    ]
    edges = {(e.source, e.target): e for e in graph.edges}
    for source, target, label in chain:
        assert edges[(source, target)].label == label
    assert [ids[k].column for k in ("env:train:1", run, "model:iris:1")] == [0, 1, 2]
    assert ids["model:iris:1"].href == "/models/iris/1"


def test_focus_keeps_one_lineage(snap: browse.Snapshot) -> None:
    graph = lineage.build(snap, focus="env:train:2")
    assert [n.id for n in graph.nodes] == ["env:train:2"]  # nothing ran in train:2
    model = lineage.build(snap, focus="model:iris:1")
    assert "env:train:1" in {n.id for n in model.nodes}
    assert "env:train:2" not in {n.id for n in model.nodes}
    assert lineage.build(snap, focus="model:nope:9").nodes == ()


def test_a_model_without_a_run_hangs_off_its_environment() -> None:
    from pulumi_mlenv.service.browse import Lineage, ModelRecord, Snapshot

    model = ModelRecord(
        name="m", version="1", content_hash="sha256:" + "a" * 64, uri="/x", source_path="/x",
        size=1, files=("f",), lineage=Lineage(env_name="train", env_version="7"),
    )  # fmt: skip
    graph = lineage.build(Snapshot((), {}, (), (model,), (), ()))
    assert [(e.source, e.target) for e in graph.edges] == [("env:train:7", "model:m:1")]
    assert {n.id: n.detail for n in graph.nodes}["env:train:7"] == "not in this workspace"


def test_columns_are_capped_and_the_rest_counted() -> None:
    from pulumi_mlenv.service.browse import Snapshot, VersionRecord

    versions = tuple(
        VersionRecord(name="e", version=str(i), env_hash="h", image="") for i in range(45)
    )
    graph = lineage.build(Snapshot(versions, {}, (), (), (), ()))
    assert len(graph.nodes) == lineage.MAX_PER_COLUMN and graph.hidden == {0: 5}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-01-02T10:12:33.123456+00:00", "2026-01-02 10:12:33 UTC"),
        ("", ""),
        ("not a time", "not a time"),
    ],
)
def test_times_as_a_person_reads_them(value: str, shown: str) -> None:
    assert views.when(value) == shown


def test_durations_and_sizes() -> None:
    assert views.duration("2026-01-01T00:00:00+00:00", "2026-01-01T00:01:03+00:00") == "1 min 3 s"
    assert views.duration("2026-01-01T00:00:00+00:00", None) == ""
    assert views.human_size(8) == "8 B" and views.human_size(1536) == "1.5 KB"
    assert views.short("sha256:" + "ab" * 32) == "abababababab"


def test_an_image_reference_is_shortened_to_its_digest_start() -> None:
    ref = "127.0.0.1:5000/mlenv/env@sha256:" + "ab" * 32
    assert views.short_ref(ref) == "127.0.0.1:5000/mlenv/env@sha256:abababababab"
    assert views.short_ref("python:3.11") == "python:3.11" and views.short_ref(None) == ""
