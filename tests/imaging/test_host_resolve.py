"""The resolve before a layered build runs on the host once the base's
interpreter is known, and gives the very lock the in-image resolve gives.

Fast: what the probe's output means to uv, and where the facts are kept.
Docker (the real BuildKit, registry and package index): the first build on
a base resolves in a pin build and keeps the interpreter's facts; a build
on the same base then resolves on the host, with no pin build, and the lock
is identical to the in-image resolve's of the same requirements."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.imaging.builder import build_image
from pulumi_mlenv.imaging.buildkit import StepEvent
from pulumi_mlenv.imaging.host_resolve import (
    PythonFacts,
    facts_path,
    known_facts,
    parse_probe,
    remember,
)
from pulumi_mlenv.service import build_plan
from pulumi_mlenv.service.resolved import resolve
from support.services import fresh_settings


@pytest.mark.parametrize(
    ("probe", "facts"),
    [
        ("3.11.2\nx86_64\nglibc 2.36\n", PythonFacts("3.11.2", "x86_64-manylinux_2_36")),
        ("3.12.7\naarch64\nglibc 2.41\n", PythonFacts("3.12.7", "aarch64-manylinux_2_40")),
        ("3.11.2\nx86_64\n \n", None),  # musl or no C library named: the pin build stays
        ("3.11.2\nx86_64\nglibc 2.5\n", None),  # older than uv targets
        ("3.11.2\nriscv64\nglibc 2.36\n", None),
        ("3.11\nx86_64\nglibc 2.36\n", None),
        ("", None),
    ],
)
def test_the_probe_says_what_uv_targets(probe: str, facts: PythonFacts | None) -> None:
    assert parse_probe(probe) == facts


def test_facts_are_kept_per_base_stage_and_python(tmp_path: Path) -> None:
    here = facts_path(tmp_path, "base-a", "3.11")
    assert known_facts(here) is None
    remember(here, PythonFacts("3.11.2", "x86_64-manylinux_2_36"))
    assert known_facts(here) == PythonFacts("3.11.2", "x86_64-manylinux_2_36")
    assert facts_path(tmp_path, "base-b", "3.11") != here != facts_path(tmp_path, "base-a", "")
    assert [p.name for p in here.parent.iterdir()] == [here.name]  # no temp file left


REQUIREMENTS = [
    "requests",
    "six==1.16.0",
    "colorama; sys_platform == 'win32'",
    "importlib-metadata; python_version < '3.10'",
    "typing-extensions; python_full_version >= '3.11.0'",
]


@pytest.mark.docker
def test_the_host_resolve_gives_the_in_image_lock_without_a_pin_build(
    tmp_path: Path, machine: object
) -> None:
    settings = fresh_settings(tmp_path)
    run = uuid.uuid4().hex[:8]

    def build(pip: list[str], work_dir: Path) -> tuple[tuple[str, ...], list[str]]:
        spec = parse_definition(
            {
                "name": "resolve",
                "python": {"conda": {"dependencies": ["python=3.11", {"pip": pip}]}},
                # A step of this run: no earlier build left these stages cached.
                "docker": {"steps": [f"ENV MLENV_TEST_RUN={run}"]},
            }
        )
        plan = replace(
            build_plan(resolve(spec, settings), settings),
            work_dir=work_dir,
            push=False,
            cache_id=f"resolve-{run}",
        )
        events: list[StepEvent] = []
        built = build_image(plan, progress=events.append)
        return built.lock, [e.name for e in events if e.name.startswith("pin ")]

    _, pin_steps = build(REQUIREMENTS, tmp_path / "a")
    assert pin_steps  # nothing known about the base yet: the pin build resolves
    assert list((tmp_path / "a" / "python-facts").iterdir())
    changed = [*REQUIREMENTS[:1], "six==1.17.0", *REQUIREMENTS[2:]]
    on_host, pin_steps = build(changed, tmp_path / "a")
    assert pin_steps == []  # resolved on the host
    in_image, pin_steps = build(changed, tmp_path / "b")  # another cache: no facts
    assert pin_steps
    assert on_host == in_image
    assert "six==1.17.0" in on_host and any(p.startswith("requests==") for p in on_host)
    assert not any(p.startswith(("colorama", "importlib-metadata")) for p in on_host)
