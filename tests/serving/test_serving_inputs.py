"""Inputs of models, deployments and endpoints, checked before anything is
built, registered or started: no daemons needed."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pulumi_mlenv.compute.proxy import Backend, config_id, render
from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition.artifacts import tree_digest
from pulumi_mlenv.definition.scoring import check_entry_script
from pulumi_mlenv.errors import SpecError
from pulumi_mlenv.service import deployments as deps
from pulumi_mlenv.service import endpoints, models
from pulumi_mlenv.workspace.serving_store import ServingStore

GOOD = "def init():\n    pass\n\ndef run(raw_data):\n    return raw_data\n"

ENTRY_CASES = [
    ("good", GOOD, None),
    ("no init", "def run(raw_data):\n    return 1\n", "defines no init()"),
    ("no run", "def init():\n    pass\n", "defines no run(raw_data)"),
    ("run without argument", "def init(): pass\ndef run():\n    return 1\n", "takes no argument"),
    ("nested run only", "def init(): pass\nclass A:\n    def run(self, x): pass\n", "no run"),
    ("syntax error", "def init(:\n", "does not parse"),
    ("async run", "def init(): pass\nasync def run(raw_data): return 1\n", None),
]


@pytest.mark.parametrize(
    ("case", "source", "message"), ENTRY_CASES, ids=[c[0] for c in ENTRY_CASES]
)
def test_entry_script_must_define_init_and_run(case: str, source: str, message: str | None) -> None:
    problems = check_entry_script(source, name="score.py")
    if message is None:
        assert problems == []
    else:
        assert problems and all(p.path == "entry_script" for p in problems)
        assert message in " ".join(str(p) for p in problems)


def test_content_hash_covers_names_and_bytes_only(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        (root / "sub").mkdir(parents=True)
        (root / "sub" / "w.bin").write_bytes(b"\x00\x01")
        (root / "model.pkl").write_bytes(b"weights")
    (b / "__pycache__").mkdir()
    (b / "__pycache__" / "x.pyc").write_bytes(b"cache")
    (b / "model.pkl").touch()  # a new mtime only
    assert tree_digest(a) == tree_digest(b)
    (b / "model.pkl").write_bytes(b"weights2")
    assert tree_digest(a).digest != tree_digest(b).digest
    assert tree_digest(a / "model.pkl").files == ("model.pkl",)
    (b / "model.pkl").rename(b / "renamed.pkl")
    assert tree_digest(a).digest != tree_digest(b).digest


def _settings(tmp_path: Path) -> Settings:
    return Settings(cache_dir=tmp_path / "cache", model_store=tmp_path / "store")


def test_same_content_same_name_keeps_its_version(tmp_path: Path) -> None:
    ws = f"sqlite:///{tmp_path / 'ws.db'}"
    model = tmp_path / "model.pkl"
    model.write_bytes(b"v1")
    first = models.register_model("iris", model, settings=_settings(tmp_path), workspace_url=ws)
    again = models.register_model("iris", model, settings=_settings(tmp_path), workspace_url=ws)
    assert (first.model.version, first.new) == ("1", True)
    assert (again.model.version, again.new) == ("1", False)
    model.write_bytes(b"v2")
    second = models.register_model("iris", model, settings=_settings(tmp_path), workspace_url=ws)
    assert second.model.version == "2"
    other = models.register_model("other", model, settings=_settings(tmp_path), workspace_url=ws)
    assert other.model.version == "1"
    assert other.model.uri == second.model.uri  # one stored copy per content
    assert Path(second.model.uri, "model.pkl").read_bytes() == b"v2"
    assert [m.label for m in models.list_models(workspace_url=ws)] == [
        "iris:1",
        "iris:2",
        "other:1",
    ]
    assert models.find_model("iris", workspace_url=ws).version == "2"


def test_a_missing_model_path_names_path_and_registers_nothing(tmp_path: Path) -> None:
    ws = f"sqlite:///{tmp_path / 'ws.db'}"
    with pytest.raises(SpecError) as err:
        models.register_model(
            "iris", tmp_path / "nope.pkl", settings=_settings(tmp_path), workspace_url=ws
        )
    assert err.value.problems[0].path == "path"
    assert "no file or folder" in str(err.value)
    assert ServingStore(ws).list_models() == []
    assert not (tmp_path / "store").exists()


def test_register_from_run_keeps_the_runs_lineage(tmp_path: Path) -> None:
    """The plug for runs: any record with these fields registers with its lineage."""
    from dataclasses import dataclass

    @dataclass
    class RunRecord:
        run_id: str
        outputs_dir: str
        env_name: str | None
        env_version: str | None
        env_hash: str | None
        image: str | None
        lock: tuple[str, ...]

    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "model.pkl").write_bytes(b"w")
    run = RunRecord(
        "run-7", str(outputs), "train", "3", "ab" * 32, "r/mlenv/env@sha256:" + "c" * 64,
        ("numpy==2.1.3",),
    )  # fmt: skip
    ws = f"sqlite:///{tmp_path / 'ws.db'}"
    done = models.register_from_run(
        "iris", run, "model.pkl", settings=_settings(tmp_path), workspace_url=ws
    )
    lineage = done.model.lineage
    assert (lineage.run_id, lineage.env_name, lineage.env_version) == ("run-7", "train", "3")
    assert lineage.env_digest == "sha256:" + "c" * 64
    assert lineage.env_lock == ("numpy==2.1.3",)
    with pytest.raises(SpecError, match="outside the run's outputs"):
        models.register_from_run(
            "iris", run, "../elsewhere", settings=_settings(tmp_path), workspace_url=ws
        )


def _spec(tmp_path: Path, **changes: object) -> deps.DeploymentSpec:
    entry = tmp_path / "score.py"
    if not entry.exists():
        entry.write_text(GOOD)
    values: dict[str, object] = {
        "name": "d",
        "model": "m:1",
        "environment": "e:1",
        "entry_script": str(entry),
        "compute_url": f"unix://{tmp_path}/no-engine.sock",
    }
    values.update(changes)
    return deps.DeploymentSpec(**values)  # type: ignore[arg-type]


def test_an_engine_that_does_not_answer_names_compute(tmp_path: Path) -> None:
    problems = deps.check_deployment(_spec(tmp_path), workspace_url=None)
    assert [p.path for p in problems] == ["compute"]
    assert "no-engine.sock" in str(problems[0])


def test_a_port_in_use_names_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        problems = deps.check_deployment(
            _spec(tmp_path, port=port), workspace_url=None, check_engine=False
        )
    assert [p.path for p in problems] == ["port"]
    assert f"port {port}" in str(problems[0]) and "already in use" in str(problems[0])


def test_entry_script_problems_name_entry_script_and_source(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def init():\n    pass\n")
    problems = deps.check_deployment(
        _spec(tmp_path, entry_script=str(tmp_path / "bad.py")),
        workspace_url=None,
        check_engine=False,
    )
    assert [p.path for p in problems] == ["entry_script"]
    outside = tmp_path / "src"
    outside.mkdir()
    problems = deps.check_deployment(
        _spec(tmp_path, source=str(outside)), workspace_url=None, check_engine=False
    )
    assert [p.path for p in problems] == ["entry_script"]
    assert "not inside the source folder" in str(problems[0])
    problems = deps.check_deployment(
        _spec(tmp_path, source=str(tmp_path / "missing")), workspace_url=None, check_engine=False
    )
    assert [p.path for p in problems] == ["source"]


def test_code_hash_follows_the_script_and_the_source(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "score.py").write_text(GOOD)
    (src / "helpers.py").write_text("X = 1\n")
    first = deps.code_of("score.py", str(src))
    (src / "helpers.py").write_text("X = 2\n")
    second = deps.code_of("score.py", str(src))
    assert first.entry_hash == second.entry_hash
    assert first.source_hash != second.source_hash and first.code_hash != second.code_hash
    assert second.entry == "score.py"


WEIGHT_CASES = [
    ([{"name": "a", "scoring_uri": "http://127.0.0.1:1/score", "weight": 90.0}], None),
    ([], "at least one deployment"),
    ([{"name": "a", "scoring_uri": "http://127.0.0.1:1/score", "weight": -1}], "0 to 256"),
    ([{"name": "a", "scoring_uri": "http://127.0.0.1:1/score", "weight": 2.5}], "whole number"),
    ([{"name": "a", "scoring_uri": "http://127.0.0.1:1/score", "weight": 0}], "every weight is 0"),
]


@pytest.mark.parametrize(("items", "message"), WEIGHT_CASES)
def test_endpoint_weights(items: list[dict[str, object]], message: str | None) -> None:
    problems = endpoints.check_endpoint(items, port=None, check_port=False)
    if message is None:
        assert problems == []
    else:
        assert problems and message in str(problems[0])
        assert problems[0].path.startswith("deployments")


def test_proxy_configuration_text() -> None:
    text = render(
        8080, (Backend("blue", "127.0.0.1:9001", 90), Backend("green", "127.0.0.1:9002", 10))
    )
    assert "bind 127.0.0.1:8080" in text
    assert "server 0-blue 127.0.0.1:9001 weight 90 check" in text
    assert "server 1-green 127.0.0.1:9002 weight 10 check" in text
    assert "retry-on conn-failure empty-response" in text and "option redispatch" in text
    # Old workers drain kept-alive clients (answer, then close) within a bound.
    assert "option idle-close-on-response" in text and "hard-stop-after 30s" in text
    same = render(
        8080, (Backend("blue", "127.0.0.1:9001", 90), Backend("green", "127.0.0.1:9002", 10))
    )
    moved = render(
        8080, (Backend("blue", "127.0.0.1:9001", 50), Backend("green", "127.0.0.1:9002", 50))
    )
    assert config_id(text) == config_id(same) != config_id(moved)


def _state(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "blue",
        "environment": "sklearn:1",
        "environment_image": "r/mlenv/env@sha256:" + "a" * 64,
        "model": "iris:1",
        "entry": "score.py",
        "entry_hash": "sha256:1",
        "source": None,
        "source_hash": "",
        "compute": "unix:///var/run/docker.sock",
        "port": None,
        "timeout": 120,
        "status": "healthy",
    }
    return {**base, **changes}


NEW_IMAGE = "r/mlenv/env@sha256:" + "b" * 64
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # what the engine sends for "not known yet"
REPLACE_CASES = [
    ({}, {}),
    ({"timeout": 300}, {}),
    (
        {"environment_image": NEW_IMAGE},
        {"environment_image": "environment image aaaaaaaaaaaa -> bbbbbbbbbbbb"},
    ),
    ({"model": "iris:2"}, {"model": "model iris:1 -> iris:2"}),
    ({"entry_hash": "sha256:2"}, {"entry_script": "entry script score.py changed"}),
    ({"entry": "other.py"}, {"entry_script": "entry script score.py -> other.py"}),
    ({"model": UNKNOWN}, {"model": "model version known once the model is registered"}),
]  # fmt: skip


@pytest.mark.parametrize(("change", "expected"), REPLACE_CASES)
def test_deployment_replace_reasons_in_words(
    change: dict[str, object], expected: dict[str, str]
) -> None:
    from pulumi_mlenv.resources.deployment import replace_reasons

    assert replace_reasons(_state(), _state(**change)) == expected


def test_an_unhealthy_deployment_is_replaced_and_source_changes_are_named() -> None:
    from pulumi_mlenv.resources.deployment import replace_reasons

    assert "status" in replace_reasons(_state(status="unhealthy"), _state())
    old, new = (
        _state(source="/src", source_hash="sha256:1"),
        _state(source="/src", source_hash="sha256:2"),
    )
    assert replace_reasons(old, new) == {"source": "source folder content changed"}
