"""The layer plan, before any build: which layers a change moves (their
keys), where a never-built layer is estimated from (its slot), and the
seconds a build's step events give each layer."""

from __future__ import annotations

from typing import Any

from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.imaging.layer_plan import StageTimes, plan_layers, step_layer_count

BASE = "127.0.0.1:5000/mlenv/python@sha256:" + "b" * 64
PINS = ("idna==3.7", "numpy==2.1.3", "six==1.16.0")


def spec(*pip: str, **docker: Any) -> Any:
    return parse_definition(
        {
            "name": "t",
            "python": {"conda": {"dependencies": ["python=3.11", {"pip": list(pip)}]}},
            "docker": docker,
        }
    )


def plan(pins: tuple[str, ...] | None, base: str = BASE, **docker: Any) -> Any:
    return plan_layers(spec("numpy", **docker), base_ref=base, env_hash="h", pins=pins)


def test_a_pin_change_moves_its_own_layer_and_the_lock_file_only() -> None:
    before = plan(PINS)
    after = plan(("idna==3.7", "numpy==2.2.0", "six==1.16.0"))
    assert [x.slot for x in before] == [x.slot for x in after]
    moved = [b.slot for b, a in zip(before, after, strict=True) if b.key != a.key]
    assert moved == ["numpy", "lock file"]
    assert next(x.slot for x in before) == "python venv"


def test_a_moved_base_or_a_new_docker_step_moves_every_layer() -> None:
    keys = {x.key for x in plan(PINS)}
    assert not keys & {x.key for x in plan(PINS, base=BASE.replace("b", "c"))}
    with_step = plan(PINS, steps=["RUN true", "ENV A=1"])
    assert next(x.slot for x in with_step) == "docker step 1"  # ENV makes no layer
    assert not keys & {x.key for x in with_step}


def test_requirements_that_are_not_plain_pins_are_one_layer_keyed_by_the_hash() -> None:
    one = plan_layers(spec("numpy"), base_ref=BASE, env_hash="h1", pins=None)
    assert [x.slot for x in one] == ["python environment"]
    other = plan_layers(spec("numpy"), base_ref=BASE, env_hash="h2", pins=None)
    assert one[0].key != other[0].key


def test_the_same_inputs_give_the_same_keys() -> None:
    assert plan(PINS) == plan(PINS)


def test_step_layer_count_counts_run_copy_and_add() -> None:
    assert step_layer_count(("RUN a", "COPY x /", "add y /", "ENV A=1", "WORKDIR /w")) == 3


def test_step_events_give_each_layer_its_seconds_and_none_when_cached() -> None:
    layers = plan(PINS, steps=["RUN one", "RUN two"])
    times = StageTimes()
    events = [
        ("[mlenv-base 2/3] RUN one", "cached", None),
        ("[mlenv-base 3/3] RUN two", "done", 0.5),
        ("pin [mlenv-venv 2/2] RUN --mount=type=bind", "done", 0.25),
        ("[mlenv-pkg-numpy 2/2] RUN --mount=type=bind", "done", 3.0),
        ("[mlenv-pkg-group-00-of-01 2/2] RUN --mount", "cached", None),
        ("[mlenv-lockfile 1/1] RUN mkdir", "done", 0.125),
        ("exporting to image", "done", 2.0),
    ]
    for name, status, seconds in events:
        times.add(name, status, seconds)
    got = {x.slot: x.seconds for x in times.timed(layers, "mlenv-base")}
    assert got == {
        "docker step 1": None,
        "docker step 2": 0.5,
        "python venv": 0.25,
        "numpy": 3.0,
        "group-00-of-01": None,
        "lock file": 0.125,
    }
