"""The diff policy: what a change to an environment means for its image."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_mlenv.definition import compute_hash, explain, parse_definition
from pulumi_mlenv.policy.environment import Action, decide


def spec(pip: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": "train",
        "python": {"conda": {"dependencies": ["python=3.11", {"pip": pip}]}},
        **extra,
    }


CASES = [
    # (case, old definition, new definition, old inputs extra, new inputs extra, action, replaces)
    ("nothing changed", spec(["six==1.16.0"]), spec(["six==1.16.0"]), {}, {}, Action.SAME, ()),
    (
        "pin moved",
        spec(["six==1.16.0"]),
        spec(["six==1.17.0"]),
        {},
        {},
        Action.REPLACE,
        ("python",),
    ),
    (
        "description only",
        spec(["six"]),
        spec(["six"], description="new"),
        {},
        {},
        Action.UPDATE,
        (),
    ),
    (
        "variables only",
        spec(["six"]),
        spec(["six"], environment_variables={"A": "1"}),
        {},
        {},
        Action.UPDATE,
        (),
    ),
    ("renamed", spec(["six"]), {**spec(["six"]), "name": "other"}, {}, {}, Action.UPDATE, ()),
    (
        "trigger",
        spec(["six"]),
        spec(["six"]),
        {"rebuild_trigger": "1"},
        {"rebuild_trigger": "2"},
        Action.REPLACE,
        ("rebuild_trigger",),
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "old_extra", "new_extra", "action", "replaces"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_policy(
    old: dict[str, Any],
    new: dict[str, Any],
    old_extra: dict[str, Any],
    new_extra: dict[str, Any],
    action: Action,
    replaces: tuple[str, ...],
) -> None:
    old_spec, new_spec = parse_definition(old), parse_definition(new)
    decision = decide(
        {**old, **old_extra},
        {**new, **new_extra},
        old_hash=compute_hash(old_spec),
        new_hash=compute_hash(new_spec),
        explain=lambda: explain(old_spec, new_spec),
    )
    assert decision.action is action
    assert decision.replaces == replaces
    assert bool(decision.reasons) == (action is not Action.SAME)


def test_a_moved_base_tag_names_the_hash_and_says_why() -> None:
    from pulumi_mlenv.definition import with_resolved_base

    base = parse_definition(spec(["six"], docker={"base_image": "python:3.11-slim"}))
    old = with_resolved_base(base, "sha256:" + "a" * 64)
    new = with_resolved_base(base, "sha256:" + "b" * 64)
    inputs = spec(["six"], docker={"base_image": "python:3.11-slim"})
    decision = decide(
        inputs,
        inputs,
        old_hash=compute_hash(old),
        new_hash=compute_hash(new),
        explain=lambda: explain(old, new),
    )
    assert decision.action is Action.REPLACE
    assert decision.replaces == ("hash",)
    assert any("python:3.11-slim moved" in r for r in decision.reasons)
