"""Schema migrations: a workspace made before migrations is upgraded with every
row kept, and a database newer than the code is refused (SQLite and PostgreSQL)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from pulumi_mlenv.workspace import Holder, SchemaTooNew, Workspace, schema
from pulumi_mlenv.workspace.urls import normalise_url

H1, H2 = "a" * 64, "b" * 64
D = {i: "sha256:" + str(i) * 64 for i in (1, 2, 3)}


def _legacy_module() -> ModuleType:
    path = Path(__file__).parent / "fixtures" / "legacy_tables.py"
    spec = importlib.util.spec_from_file_location("mlenv_legacy_tables", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # SQLAlchemy resolves annotations through it
    spec.loader.exec_module(module)
    return module


def make_legacy_workspace(url: str) -> None:
    """A workspace exactly as the code before migrations made and filled it."""
    legacy = _legacy_module()
    engine = legacy.open_engine(normalise_url(url))
    legacy.Base.metadata.create_all(engine)
    with Session(engine) as s, s.begin():
        for i, (env_hash, n) in enumerate([(H1, 1), (H2, 2), (H1, 3)], start=1):
            s.add(
                legacy.ImageRow(
                    env_hash=env_hash,
                    registry_host="127.0.0.1:5000",
                    repository="mlenv/env",
                    digest=D[n],
                    size=10**11 + i,
                    created=f"2026-01-0{i}T00:00:00Z",
                    base_image="127.0.0.1:5000/mlenv/python:3.11-bookworm",
                    base_digest=D[1],
                    dockerfile="FROM base\n",
                    lock=["six==1.16.0"],
                    build_seconds=1.5,
                    forced=i == 3,
                    recorded_at=f"2026-01-0{i}T00:00:00+00:00",
                )
            )
        for name, version, env_hash, n in [
            ("train", "1", H1, 3),
            ("train", "2", H2, 2),
            ("experiments", "7", H1, 3),
        ]:
            s.add(
                legacy.VersionRow(
                    name=name,
                    version=version,
                    env_hash=env_hash,
                    image=f"127.0.0.1:5000/mlenv/env@{D[n]}",
                    definition={"name": name},
                    description="training" if version == "1" else None,
                    tags=[["team", "a"]],
                    environment_variables=[["OMP_NUM_THREADS", "2"]],
                    created_at=f"2026-01-0{version[0]}T00:00:00+00:00",
                )
            )
        s.add(legacy.ComputeTargetRow(name="local", kind="local", url=None, updated_at="t"))
    engine.dispose()


def rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the legacy tables, legacy columns only."""
    engine = create_engine(normalise_url(url))
    columns = {
        "mlenv_images": "id, env_hash, registry, repository, digest, size, created, base_image, "
        "base_digest, dockerfile, build_seconds, forced, recorded_at",
        "mlenv_versions": "id, name, version, env_hash, image, description, created_at",
        "mlenv_compute_targets": "name, kind, url, updated_at",
    }
    with engine.connect() as conn:
        out = {
            table: [tuple(r) for r in conn.execute(text(f"SELECT {cols} FROM {table} ORDER BY 1"))]
            for table, cols in columns.items()
        }
    engine.dispose()
    return out


def test_a_workspace_from_before_migrations_is_upgraded_keeping_every_row(
    workspace_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    make_legacy_workspace(workspace_url)
    before = rows(workspace_url)
    assert [len(v) for v in before.values()] == [3, 3, 1]

    with Workspace(workspace_url) as ws:
        said = capsys.readouterr().err
        assert "schema upgraded from revision 0001 (made before migrations)" in said
        assert "every row is kept" in said
        assert rows(workspace_url) == before
        # The old rows work with the new code: active, resolvable, holdable.
        assert [v.label for v in ws.list_versions()] == ["experiments:7", "train:1", "train:2"]
        train = ws.get_version("train", "1")
        assert train is not None and train.description == "training"
        assert train.environment_variables == (("OMP_NUM_THREADS", "2"),)
        assert ws.find_image(H1) is not None and ws.find_image(H1).digest == D[3]  # type: ignore[union-attr]
        assert ws.hold("train", "2", Holder.stack("p/s")).holders == ("stack:p/s",)
        assert (
            ws.register_version("train", "c" * 64, version=None, image="i", definition={}).version
            == "3"
        )
    schema._checked.clear()  # a new process
    with Workspace(workspace_url):
        assert capsys.readouterr().err == ""  # up to date: nothing said, nothing done


def test_a_fresh_workspace_is_at_the_head_revision(workspace_url: str) -> None:
    Workspace(workspace_url).close()
    engine = create_engine(normalise_url(workspace_url))
    with engine.connect() as conn:
        at = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert at == schema.head_revisions()
    assert {"mlenv_versions", "mlenv_images", "mlenv_holds", "mlenv_leases"} <= tables


def test_a_database_newer_than_the_code_is_refused_untouched(workspace_url: str) -> None:
    with Workspace(workspace_url) as ws:
        ws.register_version("train", H1, version=None, image="i", definition={})
    engine = create_engine(normalise_url(workspace_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    before = rows(workspace_url)
    schema._checked.clear()  # a new process
    with pytest.raises(SchemaTooNew) as info:
        Workspace(workspace_url)
    message = str(info.value)
    assert "schema revision 0099, newer than this pulumi-mlenv knows" in message
    assert "upgrade pulumi-mlenv" in message
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0099"
    engine.dispose()
    assert rows(workspace_url) == before
