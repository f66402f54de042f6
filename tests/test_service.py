"""ensure_image on the real BuildKit daemon and registry (R10-R18).

Every test works in its own registry namespace (127.0.0.1:5000/t-<uuid>), so
tests are independent and nothing is ever deleted from the shared registry.
Small pure-Python packages keep the builds to a few seconds.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import EnvironmentSpec, compute_hash, parse_definition
from pulumi_mlenv.errors import BuildError, SpecError
from pulumi_mlenv.imaging.buildkit import StepEvent
from pulumi_mlenv.registry import RegistryClient
from pulumi_mlenv.service import ENV_REPOSITORY, ensure_image, image_details, materialize_local
from pulumi_mlenv.service.resolved import resolve
from support.images import build_and_push
from support.services import env_tags, fresh_settings

pytestmark = pytest.mark.docker

REGISTRY = "127.0.0.1:5000"


def _spec(pip: list[str], *, name: str = "env", **docker: Any) -> EnvironmentSpec:
    data: dict[str, Any] = {
        "name": name,
        "python": {"conda": {"dependencies": ["python=3.11", {"pip": pip}]}},
    }
    if docker:
        data["docker"] = docker
    return parse_definition(data)


@pytest.fixture
def settings(tmp_path: Path, machine: dict[str, str]) -> Settings:
    """Settings with a fresh workspace-registry namespace and cache folder."""
    return fresh_settings(tmp_path)


def test_cold_build_then_workspace_hit_builds_nothing(settings: Settings) -> None:
    spec = _spec(["six==1.16.0"])
    first = ensure_image(resolve(spec, settings), settings=settings)
    assert first.built and first.reused_from is None
    assert first.image == f"{REGISTRY}/{first.repository}@{first.digest}"
    assert first.lock == ("six==1.16.0",)
    assert first.size and first.size > 0
    second = ensure_image(resolve(spec, settings), settings=settings)
    assert not second.built and second.reused_from == "workspace"
    assert second.digest == first.digest
    assert env_tags(settings) == [first.env_hash]
    # A workspace that never recorded the image (its recording was killed
    # after the push, or another team built it) records it on the hit, with
    # the lock read from the image's own layers.
    from pulumi_mlenv.workspace import Workspace

    with Workspace(f"sqlite:///{settings.cache_dir / 'other.db'}") as other:
        third = ensure_image(resolve(spec, settings), settings=settings, workspace=other)
        record = other.find_image(first.env_hash)
    assert not third.built and third.lock == first.lock
    assert record is not None and record.digest == first.digest and record.lock == first.lock


def test_global_registry_hit(settings: Settings) -> None:
    spec = _spec(["six==1.16.0"])
    curated = replace(settings, registry=f"{REGISTRY}/global-{uuid.uuid4().hex[:10]}")
    built = ensure_image(resolve(spec, curated), settings=curated)
    result = ensure_image(
        resolve(spec, replace(settings, global_registry=curated.registry)),
        settings=replace(settings, global_registry=curated.registry),
    )
    assert not result.built and result.reused_from == "global"
    assert result.digest == built.digest
    assert env_tags(settings) == []  # nothing was pushed to the workspace registry


def test_pinned_version_change_rebuilds_and_lock_follows(settings: Settings) -> None:
    old = ensure_image(resolve(_spec(["six==1.15.0"]), settings), settings=settings)
    new = ensure_image(resolve(_spec(["six==1.16.0"]), settings), settings=settings)
    assert new.built and new.env_hash != old.env_hash
    assert (old.lock, new.lock) == (("six==1.15.0",), ("six==1.16.0",))


def test_one_pin_change_makes_only_its_layer_and_the_lock_new(
    settings: Settings,
) -> None:
    old = ensure_image(resolve(_spec(["six==1.16.0", "idna==3.7"]), settings), settings=settings)
    new = ensure_image(resolve(_spec(["six==1.16.0", "idna==3.6"]), settings), settings=settings)
    with RegistryClient(settings.registry) as client:
        repo = client.repository_for(ENV_REPOSITORY)
        before = client.manifest_info(repo, old.digest)
        after = client.manifest_info(repo, new.digest)
    assert before is not None and after is not None
    assert len(after.layers) == len(before.layers)
    assert len(set(after.layers) - set(before.layers)) == 2  # idna's layer, the lock's
    assert new.lock == ("idna==3.6", "six==1.16.0")


SIX_URL = (
    "https://files.pythonhosted.org/packages/d9/5a/e7c31adbe875f2abbb91bd84cf2dc52d792b5a01506781"
    "dbcf25c91daf11/six-1.16.0-py2.py3-none-any.whl#sha256="
    "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"
)


@pytest.mark.parametrize(
    ("pip", "layered"),
    [
        (["six==1.16.0", "idna==3.7"], True),
        # a direct URL is not a plain pin: the set installs in one step
        ([f"six @ {SIX_URL}"], False),
    ],
)
def test_progress_shows_the_resolve_then_the_package_stages(
    settings: Settings, pip: list[str], layered: bool
) -> None:
    events: list[StepEvent] = []
    result = ensure_image(resolve(_spec(pip), settings), settings=settings, progress=events.append)
    names = " ".join(e.name for e in events)
    assert "pin " in names
    assert ("mlenv-pkg-" in names) is layered
    assert any(line.startswith(("six==1.16.0", "six @ https://")) for line in result.lock)


def test_unpinned_package_is_warned_and_locked(settings: Settings) -> None:
    result = ensure_image(resolve(_spec(["idna"]), settings), settings=settings)
    assert any("idna" in w for w in result.warnings)
    assert len(result.lock) == 1 and result.lock[0].startswith("idna==")


def _push_base(ref: str, marker: str, tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / f"base-{marker}"
    folder.mkdir()
    (folder / "Dockerfile").write_text(f"FROM {settings.base_image}\nRUN echo {marker} > /marker\n")
    build_and_push(folder, ref, settings.buildkit_host)


def test_user_managed_skips_step_two(settings: Settings) -> None:
    spec = parse_definition(
        {
            "name": "u",
            "python": {"user_managed": True, "interpreter_path": "/usr/bin/python3"},
            "docker": {"steps": ["RUN echo hello > /hello"]},
        }
    )
    steps: list[str] = []
    result = ensure_image(
        resolve(spec, settings), settings=settings, progress=lambda e: steps.append(e.name)
    )
    assert result.built and result.lock == ()
    assert not any("mlenv-builder" in s for s in steps)
    assert any("echo hello" in s for s in steps)


def test_user_managed_missing_interpreter_fails_clearly(settings: Settings) -> None:
    spec = parse_definition(
        {"name": "u", "python": {"user_managed": True, "interpreter_path": "/nope/python"}}
    )
    with pytest.raises(BuildError, match="/nope/python does not exist"):
        ensure_image(resolve(spec, settings), settings=settings)
    assert env_tags(settings) == []


def test_conda_packages_without_conda_fail_before_any_download(settings: Settings) -> None:
    spec = parse_definition(
        {"name": "c", "python": {"conda": {"dependencies": ["python=3.11", "numpy=1.26"]}}}
    )
    with pytest.raises(SpecError, match="conda"):
        ensure_image(resolve(spec, settings), settings=settings)


def _ensure_in_child(settings: Settings, pip: list[str], out: Any) -> None:
    result = ensure_image(resolve(_spec(pip), settings), settings=settings)
    out.put((result.built, result.digest))


def test_two_processes_build_one_hash_once(settings: Settings) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_ensure_in_child, args=(settings, ["six==1.16.0", "idna==3.7"], queue))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    results = [queue.get() for _ in procs]
    assert sorted(built for built, _ in results) == [False, True]
    assert len({digest for _, digest in results}) == 1


def test_a_build_without_any_cache_gives_the_same_digest(settings: Settings) -> None:
    # Reproducible images: another registry, no layer cache, same bits.
    spec = _spec(["six==1.16.0", "idna==3.7"])
    first = ensure_image(resolve(spec, settings), settings=settings)
    other = replace(settings, registry=f"{REGISTRY}/t-{uuid.uuid4().hex[:10]}")
    again = ensure_image(resolve(spec, other), settings=other, force=True)
    assert again.built and again.digest == first.digest


def test_image_details_by_hash_and_reference(settings: Settings) -> None:
    result = ensure_image(resolve(_spec(["six==1.16.0"]), settings), settings=settings)
    by_hash = image_details(result.env_hash, settings=settings)
    by_ref = image_details(result.image, settings=settings)
    assert by_hash.digest == by_ref.digest == result.digest
    assert by_hash.env_hash == result.env_hash
    assert by_hash.base_digest and by_hash.base_digest.startswith("sha256:")


def test_materialize_local_venv_is_reused(settings: Settings) -> None:
    spec = _spec(["six==1.16.0"])
    path = materialize_local(spec, settings)
    assert path.name == compute_hash(spec)
    out = subprocess.run(
        [str(path / "bin" / "python"), "-c", "import six; print(six.__version__)"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "1.16.0"
    marker = path / ".mlenv-complete"
    stamp = marker.stat().st_mtime_ns
    assert materialize_local(spec, settings) == path
    assert marker.stat().st_mtime_ns == stamp


def test_forced_rebuild_moves_the_tag_keeps_the_old_digest_and_reports(
    settings: Settings, tmp_path: Path
) -> None:
    from pulumi_mlenv.workspace import Workspace

    store = Workspace(f"sqlite:///{tmp_path / 'ws.db'}")
    spec = _spec(["six==1.16.0"])
    first = ensure_image(resolve(spec, settings), settings=settings, workspace=store)
    store.register_version(
        "a", first.env_hash, version=None, image=first.image, definition={"name": "a"}
    )
    store.register_version(
        "b", first.env_hash, version=None, image=first.image, definition={"name": "b"}
    )
    assert store.find_image(first.env_hash).lock == ("six==1.16.0",)
    hit = ensure_image(resolve(spec, settings), settings=settings, workspace=store)
    assert not hit.built and hit.lock == ("six==1.16.0",) and hit.dockerfile
    forced = ensure_image(resolve(spec, settings), settings=settings, workspace=store, force=True)
    assert forced.built and forced.forced and forced.previous_digest == first.digest
    with RegistryClient(settings.registry) as client:
        repo = client.repository_for(ENV_REPOSITORY)
        assert client.digest_of(repo, first.env_hash) == forced.digest  # the tag moved
        assert client.digest_of(repo, first.digest) == first.digest  # still pullable
    assert sorted(v.split(":")[0] for v in forced.shared_versions) == ["a", "b"]
    assert forced.lock_changes == ()  # pinned: nothing moved
    details = image_details("a", settings=settings, workspace=store)
    assert details.lock == ("six==1.16.0",) and len(details.versions) == 2
