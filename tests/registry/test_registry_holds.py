"""Hold tags (pure): one per workspace and digest, unique manifests that
name what they hold, and a workspace id that ignores a URL's password."""

from __future__ import annotations

import json

from pulumi_mlenv.registry.holds import hold_manifest, hold_tag, note_of, tombstone_tag
from pulumi_mlenv.service.holds import split_image, workspace_id

DIGEST = "sha256:" + "9c2e01a4f3b7" + "0" * 52


def test_tags_name_the_digest_and_the_workspace() -> None:
    assert hold_tag(DIGEST, "5d41402abc4b77") == "hold-9c2e01a4f3b7-5d41402abc4b"
    assert tombstone_tag(DIGEST) == "deleted-9c2e01a4f3b7"


def test_each_workspaces_manifest_is_its_own_and_says_what_it_holds() -> None:
    one = hold_manifest(DIGEST, "aaaaaaaaaaaa", "run", "2026-12-03T14:00:00+00:00")
    two = hold_manifest(DIGEST, "bbbbbbbbbbbb", "run", "2026-12-03T14:00:00+00:00")
    assert one != two  # deleting one by its digest leaves the other
    note = note_of(json.loads(one))
    assert note is not None and (note.digest, note.workspace, note.kind) == (
        DIGEST, "aaaaaaaaaaaa", "run",
    )  # fmt: skip
    assert note_of({"schemaVersion": 2, "layers": []}) is None


def test_the_workspace_id_ignores_the_password_only() -> None:
    a = workspace_id("postgresql+psycopg://mlenv:one@db.example/mlenv")
    assert a == workspace_id("postgresql+psycopg://mlenv:two@db.example/mlenv")
    assert a != workspace_id("postgresql+psycopg://mlenv:one@db.example/other")
    assert len(a) == 12


def test_images_split_only_by_digest() -> None:
    place = split_image(f"127.0.0.1:5000/team/mlenv/env@{DIGEST}")
    assert place is not None and (place.registry, place.repository) == (
        "127.0.0.1:5000", "team/mlenv/env",
    )  # fmt: skip
    assert split_image("127.0.0.1:5000/mlenv/env:latest") is None and split_image("") is None
