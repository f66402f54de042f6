"""Session-wide fixtures: the machine the tests run on.

Tests use real parts: the Pulumi engine built by setup, a Docker engine, the
BuildKit daemon, the local registry. `make test` runs setup first; when pytest
is run by hand the `machine` fixture runs the same idempotent setup scripts.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

ROOT = Path(__file__).resolve().parents[1]
# Property tests prove what is accepted and refused, not how fast: on a busy
# machine one example can take seconds. Time is what benchmarks measure
# (benchmarks/bench_hostile.py, bench_spec_hash.py).
hypothesis_settings.register_profile("mlenv", deadline=None)
hypothesis_settings.load_profile("mlenv")
# PostgreSQL for workspace tests: postgres_server, postgres_url, workspace_url.
pytest_plugins = ["support.postgres"]


def _project_env() -> dict[str, str]:
    """The variables scripts/env.sh exports (PATH with .venv and the tools first)."""
    out = subprocess.run(
        ["bash", "-c", f"source {ROOT}/scripts/env.sh && env -0"],
        check=True,
        capture_output=True,
    ).stdout
    pairs = (item.split(b"=", 1) for item in out.split(b"\0") if b"=" in item)
    return {k.decode(): v.decode() for k, v in pairs}


# Applied at import time so that every test, and every subprocess it starts,
# sees the same tools the README's commands use.
os.environ.update(_project_env())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the machine needs its daemons: it belongs to the
    docker tier even when its module forgot to say so, so that the fast tier
    (``make test-fast``: ``-m "not docker and not engine and not browser"``)
    never starts one; a test that asks for Chromium is in the browser tier."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "machine" in fixtures and not item.get_closest_marker("engine"):
            item.add_marker(pytest.mark.docker)
        if "chromium" in fixtures:
            item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.xdist_group(_group(item)))


def _group(item: pytest.Item) -> str:
    """Which tests one pytest-xdist worker runs together (``--dist loadgroup``,
    scripts/test.sh): a module's tests stay together (they share its
    module-scoped fixtures, such as a registry namespace whose first build is
    cold), and every test on the one local Spark (or Ray) cluster runs in one
    worker, which starts it once and stops what it started."""
    fixtures = getattr(item, "fixturenames", ())
    if "spark_cluster" in fixtures:
        return "spark"
    if "ray_cluster" in fixtures:
        return "ray"
    return item.nodeid.split("::", 1)[0]


@pytest.fixture(scope="session")
def machine() -> Iterator[dict[str, str]]:
    """Make sure the engine, Docker, BuildKit, registry and base image are up."""
    subprocess.run([str(ROOT / "scripts" / "setup.sh")], check=True, capture_output=True)
    yield dict(os.environ)


@pytest.fixture(scope="session")
def proxy(machine: dict[str, str]) -> str:
    """HAProxy from Debian's packages (endpoints), installed when missing."""
    subprocess.run([str(ROOT / "scripts" / "setup-proxy.sh")], check=True, capture_output=True)
    from pulumi_mlenv.compute.proxy import find_haproxy

    return find_haproxy()


@pytest.fixture
def pulumi_backend(
    tmp_path: Path, machine: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh local file backend per test, so stacks never leak between
    tests; the variable is put back as it was (or unset) afterwards."""
    backend = tmp_path / "backend"
    backend.mkdir()
    url = f"file://{backend}"
    monkeypatch.setenv("PULUMI_BACKEND_URL", url)
    yield url


# The local two-node Ray cluster of `make ray`, for the runs and resources on it.
from support.ray_cluster import ray_cluster  # noqa: E402, F401
