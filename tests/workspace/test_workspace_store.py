"""The workspace store: URLs, images, versions, compute targets (SQLite file)."""

from __future__ import annotations

import os
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
    ImageRecord,
    VersionConflict,
    Workspace,
)
from pulumi_mlenv.workspace._tables import Base

H1, H2, H3 = "a" * 64, "b" * 64, "c" * 64
D1, D2, D3 = ("sha256:" + c * 64 for c in "123")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(str(tmp_path / "ws.db"))


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
    ("postgresql+psycopg2://mlenv:hunter2@127.0.0.1:1/ws", "opening workspace postgresql"),
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


def test_get_unregister_and_latest(ws: Workspace):
    for env_hash in (H1, H2, H3):
        ws.register_version("env", env_hash, version=None, image="i", definition={"h": env_hash})
    cases = [(None, "3"), ("2", "2"), ("1", "1"), ("9", None)]
    for asked, expected in cases:
        record = ws.get_version("env", asked)
        assert (record.version if record else None) == expected, asked
    assert ws.get_version("nope") is None
    assert ws.unregister_version("env", "3") is True
    assert ws.unregister_version("env", "3") is False
    latest = ws.get_version("env")
    assert latest is not None and latest.version == "2"
    # Numbering continues from what is registered now.
    again = ws.register_version("env", H1, version=None, image="i", definition={"x": 1})
    assert again.version == "3"


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
    assert os.path.getsize(tmp_path / "ws.db") > 0
    record = ws.get_version("env", "1")
    assert record is not None and dict(record.environment_variables) == {"A": "1"}
