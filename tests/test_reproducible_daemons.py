"""One definition and lock give one digest on any BuildKit, and ``mlenv
image verify`` proves it (or names the step that breaks it).

"Another machine" is a second BuildKit daemon started here with an empty
root (no layer cache, no download cache) and its own socket, pushing to the
same registry. Every build is a forced one (no layer cache), so the second
build really builds. Tiny package sets (six, one pure-Python wheel) keep the
builds short.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pulumi_mlenv.cli.main import app
from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import EnvironmentSpec, parse_definition
from pulumi_mlenv.service import ensure_image, image_details
from pulumi_mlenv.service.resolved import definition_state, resolve
from pulumi_mlenv.service.verify import verify_image
from pulumi_mlenv.workspace import Workspace
from support.buildkitd import private_buildkitd
from support.fake_conda import push_fake_micromamba_base
from support.services import fresh_settings

pytestmark = pytest.mark.docker

PIP = {"conda": {"dependencies": ["python=3.11", {"pip": ["six==1.16.0"]}]}}
#: Steps that create, change and delete files and folders, in every RUN form.
STEPS = [
    "RUN mkdir -p /srv/data/sub && echo hello > /srv/data/sub/f"
    " && ln -s /srv/data/sub/f /srv/link && echo marker >> /etc/issue",
    'RUN ["/bin/sh", "-c", "echo exec-form > /srv/exec && chmod 600 /srv/exec"]',
    "RUN <<EOF\nrm /etc/issue.net\n"
    "useradd --uid 1234 app && install -d -o app /home/app/cache\nEOF",
    'SHELL ["/bin/bash", "-o", "pipefail", "-c"]',
    "RUN echo bash | tee /srv/bash",
]
BASE_DOCKERFILE = """\
FROM {base} AS tools
RUN mkdir -p /out && echo tool > /out/tool && chmod 755 /out/tool
FROM {base}
COPY --from=tools /out/tool /usr/local/bin/tool
RUN echo after-copy > /after-copy
"""


@pytest.fixture(scope="module")
def second_builder(tmp_path_factory: pytest.TempPathFactory, machine: Any) -> Iterator[str]:
    """Another BuildKit daemon: empty root, own socket, same registry."""
    with private_buildkitd(tmp_path_factory.mktemp("buildkitd-2")) as address:
        yield address


@pytest.fixture
def settings(tmp_path: Path, machine: dict[str, str]) -> Settings:
    return fresh_settings(tmp_path)


def _definition(kind: str, settings: Settings, tmp_path: Path) -> EnvironmentSpec:
    data: dict[str, Any] = {"name": kind.replace(" + ", "-").replace(" ", "-")}
    if kind == "docker steps + pip":
        data |= {"python": PIP, "docker": {"steps": STEPS}}
    elif kind == "conda":
        base = push_fake_micromamba_base(settings, tmp_path)
        deps = ["python=3.11", "zlib", {"pip": ["six==1.16.0"]}]
        data |= {"python": {"conda": {"dependencies": deps}}, "docker": {"base_image": base}}
    elif kind == "user-managed":
        data |= {
            "python": {"user_managed": True, "interpreter_path": "/usr/bin/python3"},
            "docker": {"steps": ["RUN mkdir -p /app && python3 -c 'print(1)' > /app/one"]},
        }
    elif kind == "base dockerfile":
        text = BASE_DOCKERFILE.format(base=settings.base_image)
        data |= {"python": PIP, "docker": {"base_dockerfile": text}}
    return parse_definition(data)


DIGESTS: dict[str, tuple[str, str]] = {}


@pytest.mark.parametrize("kind", ["docker steps + pip", "conda", "user-managed", "base dockerfile"])
def test_every_kind_of_definition_gives_one_digest_on_two_daemons(
    kind: str, settings: Settings, second_builder: str, tmp_path: Path
) -> None:
    spec = _definition(kind, settings, tmp_path)
    here = ensure_image(resolve(spec, settings), settings=settings, force=True)
    there = ensure_image(
        resolve(spec, replace(settings, buildkit_host=second_builder)),
        settings=replace(settings, buildkit_host=second_builder),
        force=True,
    )
    assert here.built and there.built
    DIGESTS[kind] = (here.digest, there.digest)
    print(f"\n| {kind} | {here.digest} | {there.digest} |")
    assert there.digest == here.digest
    assert there.lock == here.lock
    # The configuration too: created at SOURCE_DATE_EPOCH, whatever the clock said.
    assert image_details(here.image, settings=settings).created == "1970-01-01T00:00:00Z"


def _registered(settings: Settings, tmp_path: Path, spec: EnvironmentSpec) -> Workspace:
    """A workspace where ``spec`` was built (shared daemon) and registered as
    ``<name>:1``, as the Environment resource does."""
    store = Workspace(f"sqlite:///{tmp_path / 'ws.db'}")
    built = ensure_image(resolve(spec, settings), settings=settings, workspace=store)
    store.register_version(
        spec.name, built.env_hash, version="1", image=built.image, definition=definition_state(spec)
    )
    return store


def test_verify_rebuilds_an_unpinned_definition_elsewhere_to_the_same_digest(
    settings: Settings, second_builder: str, tmp_path: Path
) -> None:
    # ``six`` unpinned: the rebuild installs the recorded lock's version.
    spec = parse_definition(
        {
            "name": "steady",
            "python": {"conda": {"dependencies": ["python=3.11", {"pip": ["six"]}]}},
            "docker": {"steps": ["RUN echo steady > /etc/steady"]},
        }
    )
    store = _registered(settings, tmp_path, spec)
    result = verify_image("steady:1", settings=settings, workspace=store, builder=second_builder)
    assert result.identical, result.to_dict()
    assert result.lock_changes == () and result.builder == second_builder
    details = image_details("steady:1", settings=settings, workspace=store)
    assert details.verification is not None and details.verification.identical
    assert details.verification.builder == second_builder


def test_verify_names_the_step_and_path_that_write_the_current_time(
    settings: Settings, second_builder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = parse_definition(
        {
            "name": "clock",
            "python": PIP,
            "docker": {"steps": ["RUN echo fixed > /etc/fixed", "RUN date +%s%N > /built-at"]},
        }
    )
    store = _registered(settings, tmp_path, spec)
    monkeypatch.setenv("MLENV_WORKSPACE", store.url)
    monkeypatch.setenv("MLENV_REGISTRY", settings.registry)
    monkeypatch.setenv("MLENV_CACHE_DIR", str(settings.cache_dir))
    runner = CliRunner()
    out = runner.invoke(app, ["image", "verify", "clock:1", "--builder", second_builder, "--json"])
    assert out.exit_code == 1, out.output
    report = json.loads(out.stdout)
    assert not report["identical"]
    [layer] = report["layers"]  # the clock's layer alone: /etc/fixed is the same
    assert layer["step"].startswith("RUN date +%s%N > /built-at")
    assert "current time" in layer["reason"]
    [path] = layer["paths"]
    assert path["path"] == "/built-at" and path["fields"] == ["content"]
    shown = runner.invoke(app, ["image", "details", "clock:1"])
    assert shown.exit_code == 0, shown.output
    assert "NO, " in shown.stdout and "/built-at" in shown.stdout
