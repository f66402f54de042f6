"""An Azure ML v2 environment built from its own Docker build context, end to
end on the real BuildKit daemon, registry and Docker engine: the image holds
the context's files, an edit of a copied file makes a new hash and a new
image, an edit of an ignored file does not, and a context edited between
hashing and building is refused instead of built under the old hash."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import compute_hash, explain, load_definition
from pulumi_mlenv.errors import BuildError
from pulumi_mlenv.service import ensure_image
from pulumi_mlenv.service.resolved import resolve
from support.services import env_tags, fresh_settings

pytestmark = pytest.mark.docker


@pytest.fixture
def settings(tmp_path: Path, machine: dict[str, str]) -> Settings:
    return fresh_settings(tmp_path)


def _definition(folder: Path, base_image: str) -> Path:
    context = folder / "docker-context"
    (context / "notes").mkdir(parents=True)
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\nCOPY requirements.txt /app/requirements.txt\n"
    )
    (context / "requirements.txt").write_text("six==1.16.0\n")
    (context / ".dockerignore").write_text("notes/\n")
    (context / "notes" / "todo.md").write_text("try the new optimiser\n")
    path = folder / "environment.yml"
    path.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json\n"
        "name: trainer\n"
        "build:\n  path: docker-context\n"
        "conda_file:\n"
        "  dependencies: [python=3.11, pip, {pip: [six==1.16.0]}]\n"
    )
    return path


def _cat(settings: Settings, image: str) -> str:
    client = docker.DockerClient(base_url=settings.docker_host)
    try:
        out = client.containers.run(
            image, ["cat", "/app/requirements.txt"], remove=True, network_mode="host"
        )
    finally:
        client.close()
    return bytes(out).decode()


def test_the_build_context_is_built_hashed_and_checked(settings: Settings, tmp_path: Path) -> None:
    path = _definition(tmp_path, settings.base_image)
    context = tmp_path / "docker-context"
    first = ensure_image(resolve(load_definition(path), settings), settings=settings)
    assert first.built
    assert _cat(settings, first.image) == "six==1.16.0\n"

    (context / "notes" / "todo.md").write_text("ignored by .dockerignore\n")
    again = ensure_image(resolve(load_definition(path), settings), settings=settings)
    assert not again.built and again.env_hash == first.env_hash

    before = load_definition(path)
    (context / "requirements.txt").write_text("six==1.17.0\n")
    after = load_definition(path)
    assert compute_hash(after) != compute_hash(before)
    assert explain(before, after) == ["build context: requirements.txt changed"]
    second = ensure_image(resolve(after, settings), settings=settings)
    assert second.built and second.digest != first.digest
    assert _cat(settings, second.image) == "six==1.17.0\n"

    (context / "requirements.txt").write_text("six==1.15.0\n")
    stale = load_definition(path)  # hashed with 1.15.0, not built yet
    (context / "requirements.txt").write_text("six==1.14.0\n")
    with pytest.raises(BuildError, match=r"build context changed .*requirements\.txt"):
        ensure_image(resolve(stale, settings), settings=settings)
    assert sorted(env_tags(settings)) == sorted({first.env_hash, second.env_hash})
