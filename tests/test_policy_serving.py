"""The serving decisions, one case per clause (policy/deployment.py,
policy/endpoint.py, policy/unknown.py): what a preview says and does for a
Deployment and an Endpoint, tested as pure functions, and through the
resources' ``diff`` so that both say the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pulumi_mlenv.policy.deployment import UPDATE_IN_PLACE, replace_reasons
from pulumi_mlenv.policy.endpoint import decide_endpoint
from pulumi_mlenv.policy.unknown import UNKNOWN, is_unknown

BLUE = {"name": "blue", "scoring_uri": "http://127.0.0.1:9001/score", "weight": 90}
GREEN = {"name": "green", "scoring_uri": "http://127.0.0.1:9002/score", "weight": 10}


def _endpoint(**changes: Any) -> dict[str, Any]:
    return {
        "name": "scoring",
        "port": None,
        "deployments": [BLUE, GREEN],
        "workspace": "w",
        **changes,
    }


ENDPOINT_CASES = [
    ("nothing changed", {}, (), False, []),
    ("a new name replaces", {"name": "other"}, ("name",), True, []),
    ("a new port replaces", {"port": 8080}, ("port",), True, []),
    (
        "new weights update and say both",
        {"deployments": [{**BLUE, "weight": 50}, {**GREEN, "weight": 50}]},
        (),
        True,
        ["blue 90 -> 50", "green 10 -> 50"],
    ),
    (
        "a deployment added",
        {"deployments": [BLUE, GREEN, {**GREEN, "name": "red", "weight": 1}]},
        (),
        True,
        ["red absent -> 1"],
    ),
    ("a deployment removed", {"deployments": [BLUE]}, (), True, ["green 10 -> removed"]),
    (
        "a deployment that moved to another address",
        {"deployments": [{**BLUE, "scoring_uri": "http://127.0.0.1:9100/score"}, GREEN]},
        (),
        True,
        ["blue now at 127.0.0.1:9100 (was 127.0.0.1:9001)"],
    ),
    (
        "a float weight from Pulumi is the same whole number: no change",
        {"deployments": [{**BLUE, "weight": 90.0}, GREEN]},
        (),
        False,
        [],
    ),
    ("the workspace record moved: an update", {"workspace": "v"}, (), True, []),
    ("deployments not known yet: a change, nothing said", {"deployments": UNKNOWN}, (), True, []),
]


@pytest.mark.parametrize(
    ("case", "changes", "replaces", "changed", "words"),
    ENDPOINT_CASES,
    ids=[c[0] for c in ENDPOINT_CASES],
)
def test_endpoint_decisions(
    case: str, changes: dict[str, Any], replaces: tuple[str, ...], changed: bool, words: list[str]
) -> None:
    decision = decide_endpoint(_endpoint(), _endpoint(**changes))
    assert decision.replaces == replaces
    assert decision.changes is changed
    said = " ".join(decision.reasons)
    for word in words:
        assert word in said
    if not words:
        assert "traffic" not in said


def test_a_stopped_proxy_is_replaced_and_said_so() -> None:
    decision = decide_endpoint(_endpoint(status="stopped"), _endpoint())
    assert decision.replaces == ("status",)
    assert decision.reasons == ("replace: the proxy is not running (found by refresh)",)


def _deployment(**changes: Any) -> dict[str, Any]:
    return {
        "name": "blue",
        "environment": "serve:1",
        "environment_image": "r/env@sha256:" + "a" * 64,
        "model": "clf:1",
        "entry": "score.py",
        "entry_hash": "sha256:1",
        "source": None,
        "source_hash": "",
        "compute": "unix:///d.sock",
        "port": None,
        "timeout": 120.0,
        "workspace": "w",
        "status": "healthy",
        **changes,
    }


DEPLOYMENT_CASES = [
    ("nothing", {}, {}),
    ("timeout only: in place", {"timeout": 5.0}, {}),
    ("workspace only: in place", {"workspace": "v"}, {}),
    ("a new engine", {"compute": "tcp://h:2375"}, {"compute": "compute unix:///d.sock ->"}),
    ("a fixed port", {"port": 8080}, {"port": "port None -> 8080"}),
    ("a new name", {"name": "green"}, {"name": "name blue -> green"}),
    ("a new model version", {"model": "clf:2"}, {"model": "model clf:1 -> clf:2"}),
    ("a model not known yet", {"model": UNKNOWN}, {"model": "known once the model"}),
    ("the script's bytes", {"entry_hash": "sha256:2"}, {"entry_script": "score.py changed"}),
    ("another script", {"entry": "other.py"}, {"entry_script": "score.py -> other.py"}),
    (
        "a new environment image",
        {"environment_image": "r/env@sha256:" + "b" * 64},
        {"environment_image": "aaaaaaaaaaaa -> bbbbbbbbbbbb"},
    ),
    ("an image not known yet", {"environment_image": UNKNOWN}, {"environment_image": "known once"}),
    ("another version, same image", {"environment": "serve:2"}, {"environment": "serve:1 ->"}),
]


@pytest.mark.parametrize(
    ("case", "changes", "expected"), DEPLOYMENT_CASES, ids=[c[0] for c in DEPLOYMENT_CASES]
)
def test_deployment_decisions(case: str, changes: dict[str, Any], expected: dict[str, str]) -> None:
    reasons = replace_reasons(_deployment(), _deployment(**changes))
    assert set(reasons) == set(expected)
    for key, words in expected.items():
        assert words in reasons[key]


def test_timeout_and_workspace_are_the_only_in_place_updates() -> None:
    assert set(UPDATE_IN_PLACE) == {"timeout", "workspace"}
    for key in UPDATE_IN_PLACE:
        assert replace_reasons(_deployment(), _deployment(**{key: "x"})) == {}


@pytest.mark.parametrize(
    ("value", "unknown"),
    [
        (UNKNOWN, True),
        ("known", False),
        (None, False),
        ([1, UNKNOWN], True),
        ({"a": {"b": UNKNOWN}}, True),
        (({"a": 1}, [2]), False),
        ({"a": [1, 2]}, False),
        (0, False),
    ],
)
def test_what_a_value_not_known_yet_looks_like(value: Any, unknown: bool) -> None:
    assert is_unknown(value) is unknown


def test_the_endpoint_resource_says_what_the_policy_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulumi_mlenv.resources.endpoint import EndpointProvider

    monkeypatch.chdir(tmp_path)  # its diff opens workspace "w": here, not in the clone

    olds, news = _endpoint(), _endpoint(port=8080)
    diff = EndpointProvider().diff("scoring", olds, news)
    assert list(diff.replaces) == list(decide_endpoint(olds, news).replaces) == ["port"]


def test_the_deployment_resource_says_what_the_policy_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulumi_mlenv.resources.deployment import DeploymentProvider

    monkeypatch.chdir(tmp_path)  # its diff opens workspace "w": here, not in the clone

    olds = {**_deployment(), "code_hash": "c"}
    news = {**_deployment(model="clf:2"), "code_hash": "c"}
    diff = DeploymentProvider().diff("blue", olds, news)
    assert list(diff.replaces) == list(replace_reasons(olds, news)) == ["model"]
