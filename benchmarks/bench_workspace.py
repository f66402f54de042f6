"""The workspace at team scale: 10,000 versions (100 environments x 100
versions, each held by a stack) and 100,000 image records, on PostgreSQL and,
side by side as the baseline, on SQLite. Aim: `env versions NAME` and the
lookups a preview makes under 10 ms each (median) on PostgreSQL, and 100
version lookups in a row (what a preview of 100 changed environments asks;
a no-change preview asks the workspace nothing) no slower on PostgreSQL than
on SQLite (ratio <= 1). Medians move with the machine's load: both databases
run on it, side by side, in one run.

Run: .venv/bin/python benchmarks/bench_workspace.py [--names 100] [--per-name 100]
     [--images-per-hash 10] [--repeat 200]

PostgreSQL is the local server of scripts/setup-postgres.sh (started if
needed); the benchmark makes its own database and drops it at the end.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, make_url, text

from pulumi_mlenv.workspace import Workspace
from pulumi_mlenv.workspace._tables import HoldRow, ImageRow, VersionRow

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-01-01T00:00:00.000000+00:00"


def _hash(i: int) -> str:
    return f"{i:064x}"


def populate(url: str, names: int, per_name: int, images_per_hash: int) -> None:
    """Bulk rows through the store's own tables (the schema made by opening it)."""
    Workspace(url).close()
    engine = create_engine(url)
    versions, holds, images = [], [], []
    for n in range(names):
        for v in range(1, per_name + 1):
            h = _hash(n * per_name + v)
            digest = "sha256:" + h
            versions.append(
                {
                    "name": f"env-{n:03d}",
                    "version": str(v),
                    "env_hash": h,
                    "image": f"127.0.0.1:5000/mlenv/env@{digest}",
                    "definition": {
                        "name": f"env-{n:03d}",
                        "python": {"conda": {"pip": [f"p=={v}"]}},
                    },
                    "description": None,
                    "tags": [],
                    "environment_variables": [],
                    "created_at": NOW,
                    "archived_at": None if v > per_name - 5 else NOW,
                }
            )
            if v > per_name - 5:
                holds.append(
                    {
                        "kind": "stack",
                        "holder": f"proj/stack-{n % 10}",
                        "name": f"env-{n:03d}",
                        "version": str(v),
                        "digest": digest,
                        "created_at": NOW,
                    }
                )
            for k in range(images_per_hash):
                images.append(
                    {
                        "env_hash": h,
                        "registry": "127.0.0.1:5000",
                        "repository": "mlenv/env",
                        "digest": f"sha256:{k:02d}{h[2:]}",
                        "size": 10**8,
                        "created": NOW,
                        "base_image": "b",
                        "base_digest": "sha256:" + "0" * 64,
                        "dockerfile": "FROM b\n",
                        "lock": ["numpy==2.1.3"],
                        "build_seconds": 1.0,
                        "forced": k > 0,
                        "recorded_at": NOW,
                        "deleted_at": None,
                    }
                )
    with engine.begin() as conn:
        for table, rows in ((VersionRow, versions), (HoldRow, holds), (ImageRow, images)):
            for i in range(0, len(rows), 5000):
                conn.execute(insert(table.__table__), rows[i : i + 5000])
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    engine.dispose()


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm: connection pool, statement caches
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def measure(url: str, names: int, per_name: int, repeat: int) -> dict[str, float]:
    rnd = random.Random(7)
    ws = Workspace(url)
    name = f"env-{names // 2:03d}"

    def preview_one() -> None:
        # What check/diff/create ask of the workspace for one environment.
        n, v = rnd.randrange(names), rnd.randrange(1, per_name + 1)
        h = _hash(n * per_name + v)
        ws.get_version(f"env-{n:03d}", str(v))
        ws.versions_for_hash(h)
        ws.find_image(h)

    def preview_hundred() -> None:
        for n in range(100):
            ws.get_version(f"env-{n % names:03d}", str(per_name))

    def open_and_lookup() -> None:
        # The provider opens a workspace per operation (no live clients in it).
        with Workspace(url) as fresh:
            fresh.get_version(name, str(per_name))

    out = {
        f"env versions {name} (active)": median_ms(lambda: ws.list_versions(name), repeat),
        f"env versions {name} --all": median_ms(
            lambda: ws.list_versions(name, include_archived=True), repeat
        ),
        "preview lookups, one environment": median_ms(preview_one, repeat),
        "open + version lookup (provider)": median_ms(open_and_lookup, max(20, repeat // 5)),
        "100 version lookups in a row": median_ms(preview_hundred, max(10, repeat // 10)),
    }
    ws.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=100)
    parser.add_argument("--per-name", type=int, default=100)
    parser.add_argument("--images-per-hash", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    server = subprocess.run(
        [str(ROOT / "scripts" / "setup-postgres.sh")], check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    database = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(server).set(database="postgres"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {database}"))
    pg = make_url(server).set(database=database).render_as_string(hide_password=False)
    versions = args.names * args.per_name
    images = versions * args.images_per_hash
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite = f"sqlite:///{tmp}/ws.db"
            results = {}
            for label, url in (("SQLite", sqlite), ("PostgreSQL", pg)):
                t = time.perf_counter()
                populate(url, args.names, args.per_name, args.images_per_hash)
                print(
                    f"{label}: {versions:,} versions, {images:,} image records loaded in "
                    f"{time.perf_counter() - t:.1f} s"
                )
                results[label] = measure(url, args.names, args.per_name, args.repeat)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        admin.dispose()
    print()
    head = f"{'operation (median)':40} {'SQLite ms':>10} {'PostgreSQL ms':>14} {'PG/SQLite':>10}"
    print(f"{head}  aim")
    for op, pg_ms in results["PostgreSQL"].items():
        lite_ms = results["SQLite"][op]
        if op.startswith("100 "):
            aim = "PG/SQLite <= 1"
            ok = pg_ms <= lite_ms
        elif op.startswith("open"):
            aim = "(context)"
            ok = True
        else:
            aim = "PG < 10 ms"
            ok = pg_ms < 10
        print(
            f"{op:40} {lite_ms:10.2f} {pg_ms:14.2f} {pg_ms / lite_ms:10.2f}  {aim}"
            f"{'' if ok else '  (missed)'}"
        )


if __name__ == "__main__":
    main()
