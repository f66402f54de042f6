"""`image details` finds an image by image hash in any namespace, by the
definition hash `mlenv env hash FILE` prints, by reference or NAME:VERSION
(in-memory registries and builder, a real SQLite workspace)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pulumi_mlenv.definition import compute_hash, parse_definition
from pulumi_mlenv.errors import MlenvError
from pulumi_mlenv.service import image_details
from pulumi_mlenv.service.environments import provision, resolve
from support.fakes import FakeWorld


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    return FakeWorld(tmp_path)


def _provision(world: FakeWorld, registry: str) -> tuple[str, str, str]:
    settings = world.settings(registry=registry)
    spec = parse_definition(
        {"name": "train", "python": {"conda": {"dependencies": [{"pip": ["six==1.16.0"]}]}}}
    )
    resolved = resolve(spec, settings, outside=world.outside())
    done = provision(resolved, settings=settings, outside=world.outside())
    return compute_hash(spec), resolved.hash, done.image


def test_both_hashes_and_the_version_name_find_the_image(world: FakeWorld) -> None:
    definition_hash, image_hash, image = _provision(world, "127.0.0.1:5000")
    settings = world.settings()
    assert definition_hash != image_hash
    for query in (image_hash, definition_hash, "train:1", "train", image):
        details = image_details(query, settings=settings, outside=world.outside())
        assert details.image == image, query
        assert details.env_hash == image_hash


def test_an_image_hash_in_another_namespace_is_found(world: FakeWorld, tmp_path: Path) -> None:
    _, image_hash, image = _provision(world, "127.0.0.1:5000/team-b")
    # Another user: the registry's root namespace, another workspace.
    settings = replace(world.settings(), workspace_url=f"sqlite:///{tmp_path / 'mine.db'}")
    details = image_details(image_hash, settings=settings, outside=world.outside())
    assert details.repository == "team-b/mlenv/env"
    assert details.image == image


def test_an_unknown_hash_says_what_was_looked_at(world: FakeWorld) -> None:
    with pytest.raises(MlenvError, match=r"not an image hash in 127\.0\.0\.1:5000"):
        image_details("ab" * 32, settings=world.settings(), outside=world.outside())
