"""The pure parts of Ray runs: the Jobs API request (the environment's
interpreter for the driver and every worker, the variables, the source as
working folder), how a finished job's state becomes an exit code or a
one-line error, a lost node named from the driver's log, the source package
by content, the Ray pins an environment may have, what a layer adds. No
daemons."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pulumi_mlenv.compute import Job, RayTarget, parse_target
from pulumi_mlenv.compute.ray_target import job_id, lost_nodes, outcome, source_package, submission
from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.errors import EngineError, SpecError
from pulumi_mlenv.imaging.ray_layer import added_pins, pinned_ray
from pulumi_mlenv.service.ray_environment import check_ray_pins


def job(tmp_path: Path) -> Job:
    return Job(
        name="abc123",
        source=tmp_path / "src",
        script="train.py",
        arguments=("--epochs", "3", "a b"),
        variables=(("MODE", "train"),),
        outputs=tmp_path / "out",
        python="/cache/ray/layers/h-ray-2.60.0/bin/python",
    )


def test_the_driver_and_every_worker_run_the_environment(tmp_path: Path):
    body = submission(job(tmp_path), "gcs://_ray_pkg_0123.zip")
    python = "/cache/ray/layers/h-ray-2.60.0/bin/python"
    assert body["entrypoint"] == f"{python} train.py --epochs 3 'a b'"
    assert body["submission_id"] == job_id("abc123") == "mlenv-abc123"
    assert body["runtime_env"] == {
        "working_dir": "gcs://_ray_pkg_0123.zip",
        "py_executable": python,
        "env_vars": {
            "MODE": "train",
            "MLENV_OUTPUTS": str(tmp_path / "out"),
            "PYTHONUNBUFFERED": "1",
        },
    }


@pytest.mark.parametrize(
    ("info", "code"),
    [
        ({"status": "SUCCEEDED", "driver_exit_code": 0}, 0),
        ({"status": "FAILED", "driver_exit_code": 3}, 3),
        ({"status": "STOPPED", "driver_exit_code": -15}, -15),
    ],
)
def test_a_finished_job_gives_the_script_exit_code(info: dict[str, object], code: int):
    assert outcome(info) == code


def test_a_job_that_never_started_is_one_line():
    info = {
        "submission_id": "mlenv-abc",
        "status": "FAILED",
        "error_type": "RUNTIME_ENV_SETUP_FAILURE",
        "message": "Failed to set up runtime environment.\n  py_executable /x not found",
    }
    with pytest.raises(EngineError) as err:
        outcome(info)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("ray job mlenv-abc failed to start: runtime env setup failed:")
    assert "py_executable /x not found" in text


def test_a_lost_node_is_named_from_the_driver_log():
    log = (
        "ray.exceptions.NodeDiedError: Task failed because the node it was running on is "
        "dead or unavailable. Node IP: 127.0.0.1, node ID: 8ef1dac08f0052a83c3613c6. This "
        "can happen if the node was preempted\n"
    ) * 2
    assert lost_nodes(log) == ["127.0.0.1 (8ef1dac08f00)"]
    assert lost_nodes("Traceback ... ValueError: bad input") == []


def test_the_source_package_is_named_by_content(tmp_path: Path):
    for folder in ("a", "b"):
        (tmp_path / folder / "pkg").mkdir(parents=True)
        (tmp_path / folder / "train.py").write_text("print(1)\n")
        (tmp_path / folder / "pkg" / "util.py").write_text("X = 1\n")
    first = source_package(tmp_path / "a")
    assert source_package(tmp_path / "b") == first  # same content, other folder and times
    assert first[0].startswith("_ray_pkg_") and first[0].endswith(".zip")
    (tmp_path / "b" / "train.py").write_text("print(2)\n")
    assert source_package(tmp_path / "b")[0] != first[0]


def _spec(pins: list[str]):  # type: ignore[no-untyped-def]
    return parse_definition(
        {"name": "e", "python": {"conda": {"dependencies": ["python=3.11", {"pip": pins}]}}}
    )


def test_an_environment_pinning_another_ray_is_refused_naming_both():
    check_ray_pins(_spec(["six==1.16.0"]), "2.60.0", "http://h:8265")
    check_ray_pins(_spec(["ray==2.60.0", "six"]), "2.60.0", "http://h:8265")
    check_ray_pins(_spec(["ray[default]>=2.50"]), "2.60.0", "http://h:8265")
    with pytest.raises(SpecError) as err:
        check_ray_pins(_spec(["ray==2.9.3"]), "2.60.0", "http://h:8265")
    text = str(err.value)
    assert "ray ==2.9.3" in text and "runs Ray 2.60.0" in text and "http://h:8265" in text
    assert [p.path for p in err.value.problems] == ["python.conda.dependencies"]


def test_what_a_layer_adds_leaves_the_environment_s_packages_alone():
    lock = ("six==1.16.0", "requests==2.31.0", "PyYAML==6.0.1")
    assert pinned_ray(lock) is None
    assert pinned_ray((*lock, "ray==2.60.0")) == "2.60.0"
    resolved = ["ray==2.60.0", "requests==2.31.0", "pyyaml==6.0.1", "click==8.1.7"]
    assert added_pins(resolved, lock) == ("click==8.1.7", "ray==2.60.0")


@pytest.mark.parametrize("url", ["ray://127.0.0.1:10001", "127.0.0.1:8265", "http://h:8265/x"])
def test_bad_ray_urls_name_the_field(url: str):
    with pytest.raises(SpecError) as err:
        parse_target("ray", url)
    assert [p.path for p in err.value.problems] == ["url"]
    assert "http://127.0.0.1:8265" in str(err.value)
    with pytest.raises(SpecError):
        parse_target("ray", None)


def test_a_cluster_that_does_not_answer_is_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EngineError) as err:
        RayTarget(f"http://127.0.0.1:{port}").check()
    assert str(err.value) == f"ray cluster http://127.0.0.1:{port} unreachable: connection refused"
