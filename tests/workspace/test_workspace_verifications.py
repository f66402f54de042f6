"""Verifications of images (``mlenv image verify``) in the workspace."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pulumi_mlenv.workspace import VerificationRecord, Workspace

DIGEST = "sha256:" + "ab" * 32


def _record(identical: bool, summary: str = "") -> VerificationRecord:
    return VerificationRecord(
        digest=DIGEST,
        env_hash="cd" * 32,
        builder="unix:///run/other.sock",
        identical=identical,
        rebuilt_digest=DIGEST if identical else "sha256:" + "ef" * 32,
        summary=summary,
    )


def test_the_latest_verification_of_a_digest_is_returned(tmp_path: Path) -> None:
    with Workspace(str(tmp_path / "ws.db")) as store:
        assert store.last_verification(DIGEST) is None
        store.record_verification(_record(False, "layer 2 (RUN date > /x): /x"))
        stored = store.record_verification(_record(True))
        assert stored.verified_at
        last = store.last_verification(DIGEST)
        assert last == stored and last.identical and last.builder == "unix:///run/other.sock"
        assert store.last_verification("sha256:" + "00" * 32) is None


def test_a_workspace_made_before_verifications_gets_the_table_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Workspace(str(path)).close()
    with sqlite3.connect(path) as db:  # as a workspace file of the release before
        db.execute("DROP TABLE mlenv_verifications")
        db.execute("UPDATE alembic_version SET version_num = '0002'")
    from pulumi_mlenv.workspace import schema

    schema._checked.clear()  # a new process
    with Workspace(str(path)) as store:
        store.record_verification(_record(True))
        assert store.last_verification(DIGEST) is not None
