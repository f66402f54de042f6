"""A real PostgreSQL server for the tests: started by scripts/setup-postgres.sh
(the same script `make postgres` runs), one fresh database per test."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The workspace URL of the local server's ``mlenv`` database (started if needed)."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "setup-postgres.sh")], check=True, capture_output=True, text=True
    )
    return done.stdout.strip().splitlines()[-1]


def _admin(server_url: str, sql: str) -> None:
    engine = create_engine(make_url(server_url).set(database="postgres"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(sql))
    engine.dispose()


def fresh_database(server_url: str) -> str:
    """A new empty database on the server; its URL."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    _admin(server_url, f"CREATE DATABASE {name}")
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database made by ``fresh_database`` (connections still open are ended)."""
    name = make_url(url).database
    _admin(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    url = fresh_database(postgres_server)
    yield url
    drop_database(url)


#: Parametrize a fixture or test over both databases with ``params=DATABASES``.
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.docker)]


@pytest.fixture(params=DATABASES)
def workspace_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh workspace URL: a SQLite file, or a PostgreSQL database (server
    started by the setup script; marked ``docker`` as it needs a daemon)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ws.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    url = fresh_database(server)
    yield url
    drop_database(url)
