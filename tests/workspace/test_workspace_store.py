"""The workspace store: URLs, images, versions (history, holders), compute
targets, on a SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.workspace import (
    KEEP,
    ComputeTargetRecord,
    Holder,
    ImageRecord,
    VersionConflict,
    Workspace,
)
from pulumi_mlenv.workspace._tables import Base

H1, H2, H3 = "a" * 64, "b" * 64, "c" * 64
D1, D2, D3 = ("sha256:" + c * 64 for c in "123")


@pytest.fixture
def ws(workspace_url: str) -> Iterator[Workspace]:
    """A fresh workspace on each database (SQLite file, PostgreSQL)."""
    with Workspace(workspace_url) as store:
        yield store


def image(env_hash: str = H1, digest: str = D1, **kw: object) -> ImageRecord:
    fields: dict[str, object] = {
        "env_hash": env_hash,
        "registry": "127.0.0.1:5000",
        "repository": "team-a/mlenv/env",
        "digest": digest,
        "size": 123_456_789_012,  # past 32 bits: BigInteger
        "created": "2024-05-01T12:00:00Z",
        "base_image": "127.0.0.1:5000/mlenv/python:3.11-bookworm",
        "base_digest": D3,
        "dockerfile": "FROM base\nRUN echo hi\n",
        "lock": ("numpy==2.1.0", "pandas==2.2.3"),
        "build_seconds": 12.5,
        "forced": False,
    }
    fields.update(kw)
    return ImageRecord(**fields)  # type: ignore[arg-type]


# -- opening -----------------------------------------------------------------

URLS = [
    # (how the URL is written, where the file ends up, relative to tmp)
    ("{tmp}/plain.db", "plain.db"),
    ("{tmp}/deep/er/nested.db", "deep/er/nested.db"),
    ("sqlite:///{tmp}/url.db", "url.db"),
    ("relative.db", "relative.db"),
]


@pytest.mark.parametrize(("written", "where"), URLS)
def test_open_creates_the_file_and_tables(
    written: str, where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    ws = Workspace(written.format(tmp=tmp_path))
    assert ws.list_versions() == []
    assert (tmp_path / where).is_file()
    assert ws.url.startswith("sqlite:///")
    ws.close()


def test_in_memory_and_reopen(tmp_path: Path):
    memory = Workspace("sqlite://")
    memory.upsert_compute_target("local", "local", None)
    assert memory.get_compute_target("local") is not None
    path = str(tmp_path / "ws.db")
    with Workspace(path) as first:
        first.record_image(image())
        first.register_version("env", H1, version=None, image="x@" + D1, definition={})
    with Workspace(path) as again:
        assert again.find_image(H1) is not None
        assert again.get_version("env") is not None


BAD_URLS = [
    ("nosuchdialect://host/db", "Can't load plugin"),
    ("sqlite:////proc/no/such/dir/ws.db", "opening workspace sqlite:////proc/no"),
    # A database server that does not answer: the error hides the password.
    ("postgresql://mlenv:hunter2@127.0.0.1:1/ws", "opening workspace postgresql://mlenv:***@"),
]


@pytest.mark.parametrize(("url", "says"), BAD_URLS)
def test_a_bad_url_is_one_mlenv_error_without_the_password(url: str, says: str):
    with pytest.raises(MlenvError) as info:
        Workspace(url)
    assert says in str(info.value)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("dialect", [postgresql.dialect(), mysql.dialect()], ids=["pg", "mysql"])
def test_the_schema_is_portable(dialect: object):
    """No SQLite-only DDL: the tables compile for other databases."""
    for table in Base.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))  # type: ignore[arg-type]
        assert table.name in ddl
        for index in table.indexes:
            str(CreateIndex(index).compile(dialect=dialect))  # type: ignore[arg-type]


# -- images ------------------------------------------------------------------


def test_images_current_history_and_by_digest(ws: Workspace):
    assert ws.find_image(H1) is None
    first = ws.record_image(image(digest=D1))
    assert first.recorded_at and first == replace(image(digest=D1), recorded_at=first.recorded_at)
    assert ws.record_image(image(digest=D1)) == first  # the same image again: no new row
    second = ws.record_image(image(digest=D2, forced=True, lock=("numpy==2.2.0",)))
    ws.record_image(image(env_hash=H2, digest=D3))

    assert ws.find_image(H1) == second
    assert [r.digest for r in ws.image_history(H1)] == [D1, D2]
    assert ws.image_history(H3) == []
    by_digest = ws.find_image_by_digest(D1)
    assert by_digest is not None and by_digest.env_hash == H1 and not by_digest.forced
    assert ws.find_image_by_digest("sha256:" + "9" * 64) is None
    assert second.image == f"127.0.0.1:5000/team-a/mlenv/env@{D2}"
    assert second.size == 123_456_789_012 and second.lock == ("numpy==2.2.0",)


# -- versions ----------------------------------------------------------------

DEF_A = {"python": {"conda": {"pip": ["numpy==2.1.0"]}}}
DEF_B = {"python": {"conda": {"pip": ["numpy==2.2.0"]}}}

# (name, hash, version asked, definition, expected version or error)
STEPS: list[tuple[str, str, str | None, dict[str, object], str | type[Exception]]] = [
    ("sk", H1, None, DEF_A, "1"),
    ("sk", H1, None, DEF_A, "1"),  # idempotent: latest already has it
    ("sk", H1, None, {"python": {"conda": {"pip": ("numpy==2.1.0",)}}}, "1"),  # tuple == list
    ("sk", H2, None, DEF_B, "2"),
    ("sk", H1, None, DEF_A, "3"),  # back to H1: the latest is H2, so a new number
    ("sk", H1, None, {**DEF_A, "description": "x"}, "4"),  # same hash, definition changed
    ("sk", H1, "stable", DEF_A, "stable"),  # explicit label honoured
    ("sk", H1, "stable", DEF_A, "stable"),  # the same again: returned
    ("sk", H2, "stable", DEF_B, VersionConflict),
    ("sk", H2, "3", DEF_B, VersionConflict),
    ("sk", H2, None, DEF_B, "5"),  # numbering skips labels
    ("other", H2, None, DEF_B, "1"),  # numbering is per name
    ("other", H1, "10", DEF_A, "10"),
    ("other", H3, None, {}, "11"),
]


def test_version_steps(ws: Workspace):
    for i, (name, env_hash, asked, definition, expected) in enumerate(STEPS):
        args = (name, env_hash)
        kw = {"version": asked, "image": f"img@{env_hash}", "definition": definition}
        if isinstance(expected, str):
            record = ws.register_version(*args, **kw)  # type: ignore[arg-type]
            assert (record.name, record.version, record.env_hash) == (name, expected, env_hash), i
        else:
            with pytest.raises(expected) as info:
                ws.register_version(*args, **kw)  # type: ignore[arg-type]
            assert name in str(info.value) and env_hash in str(info.value), i
            assert str(asked) in str(info.value)
    assert [v.version for v in ws.list_versions("sk")] == ["1", "2", "3", "4", "stable", "5"]
    assert [v.label for v in ws.versions_for_hash(H2)] == ["other:1", "sk:2", "sk:5"]
    assert len(ws.list_versions()) == 9


def test_get_archive_and_latest(ws: Workspace):
    for env_hash in (H1, H2, H3):
        ws.register_version("env", env_hash, version=None, image="i", definition={"h": env_hash})
    cases = [(None, "3"), ("2", "2"), ("1", "1"), ("9", None)]
    for asked, expected in cases:
        record = ws.get_version("env", asked)
        assert (record.version if record else None) == expected, asked
    assert ws.get_version("nope") is None
    archived = ws.release("env", "3", None)
    assert archived is not None and archived.status == "archived"
    # The latest *active* version answers NAME; NAME:3 still resolves.
    latest = ws.get_version("env")
    assert latest is not None and latest.version == "2"
    three = ws.get_version("env", "3")
    assert three is not None and three.env_hash == H3 and three.status == "archived"
    # Numbers are never reused: the next is 4, not 3.
    again = ws.register_version("env", H1, version=None, image="i", definition={"x": 1})
    assert again.version == "4"
    assert [v.version for v in ws.list_versions("env")] == ["1", "2", "4"]
    assert [v.version for v in ws.list_versions("env", include_archived=True)] == [
        "1",
        "2",
        "3",
        "4",
    ]


def test_metadata_update_keeps_what_is_not_given(ws: Workspace):
    ws.register_version(
        "env",
        H1,
        version=None,
        image="i",
        definition=DEF_A,
        description="first",
        tags={"team": "a", "stage": "dev"},
        environment_variables=[("MODE", "train")],
    )
    stored = ws.get_version("env", "1")
    assert stored is not None
    assert stored.tags == (("team", "a"), ("stage", "dev"))
    assert stored.environment_variables == (("MODE", "train"),)
    assert stored.definition == DEF_A and stored.created_at

    updated = ws.update_version_metadata("env", "1", description=None, tags=[("team", "b")])
    assert (updated.description, updated.tags, updated.environment_variables) == (
        None,
        (("team", "b"),),
        (("MODE", "train"),),
    )
    newer = {**DEF_A, "description": "new"}
    updated = ws.update_version_metadata(
        "env", "1", environment_variables={}, description=KEEP, definition=newer
    )
    assert updated.environment_variables == () and updated.definition == newer
    # The stored definition is what later idempotent registrations compare with.
    assert ws.register_version("env", H1, version=None, image="i", definition=newer).version == "1"
    with pytest.raises(MlenvError, match="'env' version 7 is not registered"):
        ws.update_version_metadata("env", "7", description="x")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([H1, H2, H3]), min_size=1, max_size=12))
def test_numbering_matches_a_simple_model(hashes: list[str]):
    ws = Workspace("sqlite://")
    expected: list[str] = []
    for env_hash in hashes:
        record = ws.register_version("m", env_hash, version=None, image="i", definition={})
        if not expected or expected[-1] != env_hash:
            expected.append(env_hash)
        assert record.version == str(len(expected))
    assert [v.env_hash for v in ws.list_versions("m")] == expected
    ws.close()


# -- compute targets ---------------------------------------------------------


def test_compute_targets(ws: Workspace):
    ws.upsert_compute_target("laptop", "local", None)
    ws.upsert_compute_target("gpu", "docker", "ssh://ml@gpu-box")
    moved = ws.upsert_compute_target("gpu", "docker", "tcp://127.0.0.1:2375")
    assert (moved.kind, moved.url) == ("docker", "tcp://127.0.0.1:2375")
    assert [(t.name, t.kind, t.url) for t in ws.list_compute_targets()] == [
        ("gpu", "docker", "tcp://127.0.0.1:2375"),
        ("laptop", "local", None),
    ]
    found = ws.get_compute_target("laptop")
    assert isinstance(found, ComputeTargetRecord) and found.updated_at
    assert ws.delete_compute_target("laptop") is True
    assert ws.delete_compute_target("laptop") is False
    assert ws.get_compute_target("laptop") is None


def test_environment_variable_values_are_stored_as_given(ws: Workspace, tmp_path: Path):
    """The store adds nothing and hides nothing: the resource layer decides."""
    ws.register_version(
        "env", H1, version="1", image="i", definition={}, environment_variables={"A": "1"}
    )
    if ws.url.startswith("sqlite"):
        assert os.path.getsize(tmp_path / "ws.db") > 0
    record = ws.get_version("env", "1")
    assert record is not None and dict(record.environment_variables) == {"A": "1"}


# -- history: holders and archive --------------------------------------------

STACK_A, STACK_B = Holder.stack("proj/dev"), Holder.stack("proj/prod")
IMG1, IMG2 = f"r/mlenv/env@{D1}", f"r/mlenv/env@{D2}"


def test_a_version_stays_active_while_anyone_holds_it(ws: Workspace):
    """Two stacks declare train:1; destroying one releases only its own hold."""
    for stack in (STACK_A, STACK_B):
        got = ws.register_version(
            "train", H1, version="1", image=IMG1, definition=DEF_A, holder=stack
        )
        assert got.version == "1"
    both = ws.get_version("train", "1")
    assert both is not None and both.holders == ("stack:proj/dev", "stack:proj/prod")

    after_a = ws.release("train", "1", STACK_A)
    assert after_a is not None and after_a.status == "active"
    assert after_a.holders == ("stack:proj/prod",)
    assert [v.label for v in ws.list_versions("train")] == ["train:1"]

    after_b = ws.release("train", "1", STACK_B)
    assert after_b is not None and after_b.status == "archived" and after_b.archived_at
    assert ws.list_versions("train") == []
    # Archived, not deleted: resolvable, and the same hash and definition.
    kept = ws.get_version("train", "1")
    assert kept is not None and (kept.env_hash, kept.definition) == (H1, DEF_A)


def test_replace_destroy_and_forced_rebuild_keep_history(ws: Workspace):
    # up: version 1
    v1 = ws.register_version("sk", H1, version=None, image=IMG1, definition=DEF_A, holder=STACK_A)
    # replace (new definition): version 2 is created, then the old one's hold released
    v2 = ws.register_version("sk", H2, version=None, image=IMG2, definition=DEF_B, holder=STACK_A)
    ws.release("sk", v1.version, STACK_A)
    assert (v1.version, v2.version) == ("1", "2")
    # forced rebuild: delete-before-replace releases, create registers the same hash again
    ws.release("sk", "2", STACK_A)
    rebuilt = f"r/mlenv/env@{D3}"
    v2b = ws.register_version(
        "sk", H2, version=None, image=rebuilt, definition=DEF_B, holder=STACK_A
    )
    assert (v2b.version, v2b.env_hash, v2b.image, v2b.status) == ("2", H2, rebuilt, "active")
    # destroy
    ws.release("sk", "2", STACK_A)
    history = ws.list_versions("sk", include_archived=True)
    assert [(v.version, v.env_hash, v.status) for v in history] == [
        ("1", H1, "archived"),
        ("2", H2, "archived"),
    ]
    # Coming back to an old definition: a new number, never a reused one.
    v3 = ws.register_version("sk", H1, version=None, image=IMG1, definition=DEF_A, holder=STACK_A)
    assert v3.version == "3"
    # An explicit label keeps its hash forever, archived or not.
    ws.register_version("sk", H1, version="stable", image=IMG1, definition=DEF_A)
    ws.release("sk", "stable", None)
    with pytest.raises(VersionConflict):
        ws.register_version("sk", H2, version="stable", image=IMG2, definition=DEF_B)


def test_runs_and_deployments_hold_versions_too(ws: Workspace):
    ws.register_version("sk", H1, version=None, image=IMG1, definition=DEF_A, holder=STACK_A)
    run = Holder("run", "run-42")
    held = ws.hold("sk", "1", run)
    assert held.holders == ("run:run-42", "stack:proj/dev")
    assert ws.holds_of(run) == [("sk", "1")]
    assert ws.release("sk", "1", STACK_A).status == "active"  # type: ignore[union-attr]
    assert ws.release("sk", "1", run).status == "archived"  # type: ignore[union-attr]
    # Holding an archived version makes it active again.
    assert ws.hold("sk", "1", Holder("deployment", "scoring-prod")).status == "active"
    with pytest.raises(MlenvError, match="'sk' version 9 is not registered"):
        ws.hold("sk", "9", run)
    with pytest.raises(MlenvError, match="needs a kind and an id"):
        Holder("run", " ")


def test_a_postgresql_url_without_its_driver_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL's driver is an extra (pulumi-mlenv[postgres]); without it
    the error says so instead of a bare ImportError."""
    import sys

    from pulumi_mlenv.errors import MlenvError
    from pulumi_mlenv.workspace import Workspace

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    with pytest.raises(MlenvError, match=r"pulumi-mlenv\[postgres\]"):
        Workspace("postgresql+psycopg://mlenv@127.0.0.1:1/nothing")


def test_a_recorded_deployment_protects_its_environments_image(
    ws: Workspace, workspace_url: str
) -> None:
    from pulumi_mlenv.workspace.serving_store import DeploymentRecord, ServingStore

    ws.register_version("sk", H1, version=None, image=IMG1, definition=DEF_A, holder=STACK_A)
    ws.release("sk", "1", STACK_A)  # the stack is gone: only the deployment is left
    assert D1 not in ws.protected_digests()
    serving = ServingStore(workspace_url)
    try:
        serving.put_deployment(
            DeploymentRecord(
                instance="blue-1", name="blue", model_name="iris", model_version="1",
                env_name="sk", env_version="1", image="r/mlenv/inference@sha256:" + "9" * 64,
                compute_url="unix:///var/run/docker.sock", port=18080, container_id="c1",
                code_hash="h" * 64, status="healthy",
            )
        )  # fmt: skip
        assert ws.protected_digests()[D1] == ["deployment blue"]
        assert ws.digest_is_held(D1)
        serving.delete_deployment("blue-1")
    finally:
        serving.close()
    assert not ws.digest_is_held(D1)
