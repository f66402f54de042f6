"""Every decision of runs, gc and verify, without a daemon: the use cases
and the Run resource driven in process against the in-memory outside world
(tests/support/fakes.py: a compute target that runs the script as a host
process, BuildKit, the registry, host virtualenvs), with the workspace's
stores real (SQLite). The engine tier runs the same scenarios once on the
real Docker engine, BuildKit, registry and Spark (test_run_kinds.py,
test_rerun.py, tests/workspace/test_workspace_gc.py,
tests/test_reproducible_daemons.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from pulumi_mlenv.errors import MlenvError, SpecError
from pulumi_mlenv.service import retention
from pulumi_mlenv.service.runs import RunRequest, get_run, list_runs, rerun, submit
from pulumi_mlenv.service.targets import add_target
from pulumi_mlenv.service.verify import verify_image
from pulumi_mlenv.workspace import RunStatus
from support.fakes import FakeWorld

SCRIPT = """\
import os, sys
out = os.environ["MLENV_OUTPUTS"]
open(os.path.join(out, "result.txt"), "w").write(" ".join(sys.argv[1:]) or "none")
print("trained with", os.environ.get("LEARNING_RATE", "default"))
sys.exit(int(os.environ.get("EXIT_CODE", "0")))
"""


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    return FakeWorld(tmp_path)


def _definition(world: FakeWorld, *pip: str, **extra: Any) -> Path:
    folder = world.root / "env"
    folder.mkdir(exist_ok=True)
    data = {
        "name": "train",
        "python": {"conda": {"dependencies": [{"pip": list(pip or ["six==1.16.0"])}]}},
        **extra,
    }
    (folder / "mlenv.yml").write_text(yaml.safe_dump(data))
    return folder / "mlenv.yml"


def _script(world: FakeWorld, text: str = SCRIPT) -> Path:
    source = world.root / "src"
    source.mkdir(exist_ok=True)
    (source / "train.py").write_text(text)
    return source / "train.py"


def _submit(world: FakeWorld, **request: Any) -> Any:
    fields: dict[str, Any] = {
        "script": str(_script(world)),
        "environment": str(_definition(world)),
        "compute": "local",
    }
    return submit(
        RunRequest(**{**fields, **request}),
        settings=world.settings(),
        outside=world.outside(),
    )


@pytest.mark.parametrize("compute", ["local", "docker"])
def test_a_run_from_a_definition_file_is_recorded_with_its_environment(
    world: FakeWorld, compute: str
) -> None:
    done = _submit(world, compute=compute, arguments=("--epochs", "3"))
    record = done.record
    assert record.status is RunStatus.COMPLETED and record.exit_code == 0
    assert (record.env_name, record.env_version) == ("train", "1")
    assert record.lock == ("six==1.16.0",)
    assert record.compute_kind == compute
    assert (Path(record.outputs_path) / "result.txt").read_text() == "--epochs 3"
    assert "trained with" in Path(record.logs_path).read_text()
    if compute == "docker":  # the image by digest, built once
        assert record.image and "@sha256:" in record.image
        assert len(world.builds) == 1
    else:  # a host run needs only the virtualenv: nothing built or pushed
        assert not record.image
        assert world.builds == []


def test_a_second_run_of_the_same_definition_builds_nothing(world: FakeWorld) -> None:
    _submit(world, compute="docker")
    second = _submit(world, compute="docker")
    assert not second.built and len(world.builds) == 1
    assert second.record.env_version == "1"


def test_a_docker_run_of_a_built_version_reads_the_workspace_and_asks_the_registry_once(
    world: FakeWorld,
) -> None:
    first = _submit(world, compute="docker").record
    opened: list[str] = []

    def no_store(url: str) -> Any:
        opened.append(url)
        raise AssertionError("the environment store was opened")

    asked = world.requests
    second = submit(
        RunRequest(
            script=str(_script(world)), environment=str(_definition(world)), compute="docker"
        ),
        settings=world.settings(),
        outside=replace(world.outside(), workspace=no_store),
    )
    # Asked: the image's tag by hash, then the run's own hold (the version's
    # hold was published when it first pointed at the image).
    assert opened == [] and world.requests - asked == 2
    assert (second.record.image, second.record.env_version) == (first.image, first.env_version)
    assert second.record.lock == first.lock and not second.built


def test_a_docker_run_whose_image_left_the_registry_builds_it_again(world: FakeWorld) -> None:
    first = _submit(world, compute="docker").record
    world.tags.clear()  # the registry lost every tag: the version's image is not there
    second = _submit(world, compute="docker")
    assert second.built and len(world.builds) == 2
    assert second.record.env_version == first.env_version


def test_a_changed_definition_registers_a_new_version_on_a_docker_run(world: FakeWorld) -> None:
    _submit(world, compute="docker")
    changed = world.root / "changed" / "mlenv.yml"
    changed.parent.mkdir()
    changed.write_text(_definition(world, "six==1.17.0").read_text())
    again = _submit(world, compute="docker", environment=str(changed))
    assert again.record.env_version == "2" and again.built


def test_a_local_run_makes_the_virtualenv_once_per_hash(world: FakeWorld) -> None:
    first = _submit(world)
    _submit(world)
    assert world.venvs == [first.record.env_hash]


@pytest.mark.parametrize(("code", "status"), [("0", "completed"), ("3", "failed")])
def test_the_exit_code_decides_the_status(
    world: FakeWorld, monkeypatch: pytest.MonkeyPatch, code: str, status: str
) -> None:
    monkeypatch.setenv("EXIT_CODE", code)
    record = _submit(world).record
    assert record.status.value == status and record.exit_code == int(code)
    assert get_run(record.id, world.workspace_url, outside=world.outside()).status.value == status


def test_an_interrupted_run_is_recorded_cancelled(world: FakeWorld) -> None:
    world.interrupt_jobs = True
    with pytest.raises(KeyboardInterrupt):
        _submit(world, compute="docker")
    (record,) = list_runs(world.workspace_url, outside=world.outside())
    assert record.status is RunStatus.CANCELLED and record.error == "interrupted"


def test_a_target_that_does_not_answer_fails_before_anything_is_built(world: FakeWorld) -> None:
    world.down.add("docker")
    with pytest.raises(MlenvError, match="does not answer"):
        _submit(world, compute="docker")
    assert not world.builds and not list_runs(world.workspace_url, outside=world.outside())


@pytest.mark.parametrize(
    ("request_changes", "path"),
    [
        ({"script": "/no/such/train.py"}, "script"),
        ({"source": "/no/such/folder"}, "source"),
        ({"compute": "nowhere"}, "compute"),
        ({"environment": "nothing:1"}, "environment"),
        ({"environment": "./no/such/mlenv.yml"}, "environment"),
    ],
)
def test_bad_requests_name_the_field_and_record_nothing(
    world: FakeWorld, request_changes: dict[str, Any], path: str
) -> None:
    with pytest.raises(SpecError) as err:
        _submit(world, **request_changes)
    assert err.value.problems[0].path == path
    assert not world.jobs and not list_runs(world.workspace_url, outside=world.outside())


def test_a_registered_version_runs_by_name_and_an_unexpected_hash_is_refused(
    world: FakeWorld,
) -> None:
    first = _submit(world, compute="docker").record
    by_name = _submit(world, compute="docker", environment="train:1").record
    assert by_name.image == first.image and by_name.env_hash == first.env_hash
    with pytest.raises(MlenvError, match="maps to hash"):
        _submit(world, compute="docker", environment="train:1", expect_hash="0" * 64)


def test_variables_given_by_the_caller_reach_the_script(world: FakeWorld) -> None:
    record = _submit(world, variables=(("LEARNING_RATE", "0.1"),)).record
    assert "trained with 0.1" in Path(record.logs_path).read_text()
    assert record.variables == ("LEARNING_RATE",), "the workspace keeps names only"


def test_a_rerun_uses_the_recorded_image_and_source_whatever_came_since(
    world: FakeWorld,
) -> None:
    first = _submit(world, compute="docker").record
    _script(world, SCRIPT.replace("trained with", "changed since"))
    _definition(world, "six==1.17.0")
    again = rerun(first.id, settings=world.settings(), outside=world.outside()).record
    assert again.rerun_of == first.id
    assert (again.image, again.lock, again.source_hash) == (
        first.image,
        first.lock,
        first.source_hash,
    )
    assert "trained with" in Path(again.logs_path).read_text()
    assert len(world.builds) == 1, "a rerun builds nothing"


def test_a_registered_docker_target_runs_by_name(world: FakeWorld) -> None:
    add_target(
        "gpu-box", "docker", "tcp://127.0.0.1:2375", world.workspace_url, outside=world.outside()
    )
    record = _submit(world, compute="gpu-box").record
    assert (record.compute, record.compute_kind, record.compute_url) == (
        "gpu-box",
        "docker",
        "tcp://127.0.0.1:2375",
    )


def test_the_run_resource_runs_once_and_names_a_failure(
    world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulumi_mlenv.resources.run import RunProvider

    first = _submit(world, compute="docker").record
    provider = RunProvider(outside=world.outside())
    props = {
        "name": "train",
        "script": str(_script(world)),
        "environment": {"name": "train", "version": "1", "hash": first.env_hash},
        "compute": "docker",
        "workspace": world.workspace_url,
    }
    checked = provider.check({}, props)
    assert not checked.failures, [f.reason for f in checked.failures]
    outs = provider.create(checked.inputs).outs
    assert outs["status"] == "completed" and outs["exit_code"] == 0
    monkeypatch.setenv("EXIT_CODE", "2")
    with pytest.raises(MlenvError, match="failed with exit code 2"):
        provider.create(checked.inputs)


# -- gc --------------------------------------------------------------------------


def _archived_image(world: FakeWorld) -> str:
    """An environment whose only version is archived: its image is collectable."""
    from pulumi_mlenv.definition import parse_definition
    from pulumi_mlenv.service.environments import provision, resolve, retire

    spec = parse_definition(
        {"name": "old", "python": {"conda": {"dependencies": [{"pip": ["six==1.16.0"]}]}}}
    )
    settings = world.settings()
    io = world.outside()
    done = provision(
        resolve(spec, settings, outside=io), settings=settings, holder="p/s", outside=io
    )
    assert retire("old", done.version, world.workspace_url, holder="p/s", outside=io)
    return done.image.rsplit("@", 1)[-1]


def _collect(world: FakeWorld, *, dry_run: bool, days: float = 0.0) -> retention.GcReport:
    return retention.collect(
        world.workspace_url,
        world.settings(),
        keep_days=days,
        dry_run=dry_run,
        now=datetime.now(UTC) + timedelta(days=1),
        outside=world.outside(),
    )


def test_gc_dry_run_lists_and_deletes_nothing(world: FakeWorld) -> None:
    digest = _archived_image(world)
    report = _collect(world, dry_run=True)
    assert [c.digest for c in report.deleted] == [digest] and report.dry_run
    assert digest in world.images and not world.deleted


def test_gc_deletes_unheld_images_and_records_it(world: FakeWorld) -> None:
    digest = _archived_image(world)
    report = _collect(world, dry_run=False)
    assert [c.digest for c in report.deleted] == [digest]
    assert world.deleted == [digest] and digest not in world.images
    assert _collect(world, dry_run=False).deleted == (), "a deleted image is not listed again"


def test_gc_keeps_what_is_younger_than_the_retention(world: FakeWorld) -> None:
    _archived_image(world)
    assert _collect(world, dry_run=False, days=30).deleted == ()
    assert not world.deleted


def test_gc_reports_a_registry_that_does_not_answer_and_keeps_the_record(
    world: FakeWorld,
) -> None:
    digest = _archived_image(world)
    world.down.add("127.0.0.1:5000")
    report = _collect(world, dry_run=False)
    assert [c.digest for c, _ in report.failed] == [digest] and not report.deleted
    world.down.clear()
    assert [c.digest for c in _collect(world, dry_run=False).deleted] == [digest]


def test_gc_refuses_a_negative_retention(world: FakeWorld) -> None:
    with pytest.raises(MlenvError, match="give 0 or more days"):
        _collect(world, dry_run=True, days=-1)


def test_gc_never_deletes_an_image_a_run_of_an_active_version_uses(world: FakeWorld) -> None:
    _submit(world, compute="docker")
    assert _collect(world, dry_run=True).deleted == ()


# -- verify ----------------------------------------------------------------------


def _built(world: FakeWorld) -> Any:
    return _submit(world, compute="docker").record


def test_verify_rebuilds_without_cache_and_says_identical(world: FakeWorld) -> None:
    record = _built(world)
    done = verify_image("train:1", settings=world.settings(), outside=world.outside())
    assert done.identical and done.env_hash == record.env_hash
    assert world.builds[-1].no_cache
    assert world.builds[-1].image_name.rsplit(":", 1)[-1] == f"verify-{record.env_hash}"
    assert "@sha256:" in done.rebuilt


def test_verify_names_where_a_rebuild_differs(world: FakeWorld) -> None:
    _built(world)
    world.rebuild_digest_changes = True
    done = verify_image("train:1", settings=world.settings(), outside=world.outside())
    assert not done.identical
    assert done.to_dict()["image"] == done.image


@pytest.mark.parametrize("query", ["nothing:1", "ab" * 32])
def test_verify_of_something_the_workspace_did_not_build_says_so(
    world: FakeWorld, query: str
) -> None:
    _built(world)
    with pytest.raises(MlenvError, match=r"verify|no environment version"):
        verify_image(query, settings=world.settings(), outside=world.outside())


def test_verify_of_an_image_gone_from_the_registry_says_so(world: FakeWorld) -> None:
    record = _built(world)
    digest = str(record.image).rsplit("@", 1)[-1]
    world.images.pop(digest)
    with pytest.raises(MlenvError, match="not in the registry any more"):
        verify_image("train:1", settings=world.settings(), outside=world.outside())


def test_verify_records_each_outcome(world: FakeWorld) -> None:
    _built(world)
    settings = world.settings()
    first = verify_image("train:1", settings=settings, outside=world.outside())
    second = verify_image("train:1", settings=replace(settings), outside=world.outside())
    assert first.verified_at <= second.verified_at


# -- compute targets as runs see them ----------------------------------------------


@pytest.mark.parametrize(
    ("registered", "name", "kind", "url"),
    [
        ((), "local", "local", None),
        ((), "docker", "docker", "unix:///var/run/docker.sock"),
        (
            (("docker", "docker", "tcp://127.0.0.1:2376"),),
            "docker",
            "docker",
            "tcp://127.0.0.1:2376",
        ),
        ((("spark-local", "spark", "spark://127.0.0.1:7077"),), "spark-local", "spark", None),
        ((("box", "docker", "ssh://me@127.0.0.1"),), "box", "docker", "ssh://me@127.0.0.1"),
    ],
)
def test_compute_targets_resolve_by_name_a_registered_one_first(
    world: FakeWorld,
    registered: tuple[tuple[str, str, str], ...],
    name: str,
    kind: str,
    url: str | None,
) -> None:
    from pulumi_mlenv.service.compute_targets import resolve_compute

    io = world.outside()
    for target in registered:
        add_target(*target, world.workspace_url, outside=io)
    settings = world.settings(docker_host="unix:///var/run/docker.sock")
    record, target = resolve_compute(name, settings, world.workspace_url, outside=io)
    assert (record.name, record.kind, target.kind) == (name, kind, kind)
    if url is not None:
        assert record.url == url


def test_an_unknown_compute_target_lists_the_known_ones(world: FakeWorld) -> None:
    from pulumi_mlenv.service.compute_targets import resolve_compute

    io = world.outside()
    add_target("gpu", "docker", "tcp://127.0.0.1:2375", world.workspace_url, outside=io)
    with pytest.raises(SpecError, match="docker, gpu, local"):
        resolve_compute("nowhere", world.settings(), world.workspace_url, outside=io)


@pytest.mark.parametrize("compute", ["local", "docker"])
def test_a_run_whose_process_died_is_lost_on_the_next_read_and_its_leftovers_removed(
    world: FakeWorld, compute: str
) -> None:
    import socket
    import sqlite3

    done = _submit(world, compute=compute)
    db = world.settings().workspace_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:  # as a CLI killed mid-run leaves it
        connection.execute(
            "UPDATE mlenv_runs SET status = 'running', ended_at = NULL, owner = ? WHERE id = ?",
            (f"{socket.gethostname()} 999999999 1", done.record.id),
        )
    connection.close()
    [listed] = list_runs(world.settings().workspace_url, 5, outside=world.outside())
    assert listed.status is RunStatus.LOST
    assert listed.error and "pid 999999999" in listed.error
    assert world.removed_jobs == [(compute, done.record.id)]
    assert (
        get_run(done.record.id, world.settings().workspace_url, outside=world.outside()).status
        is RunStatus.LOST
    )
    assert world.removed_jobs == [(compute, done.record.id)]  # asked once: lost is final


def test_a_callers_values_stand_in_for_a_secret_this_process_lacks(
    world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = _definition(world, environment_variables={"API_TOKEN": "${env:API_TOKEN}"})
    script = str(_script(world, "import os; print('token', os.environ['API_TOKEN'])\n"))

    def run(environment: str, **request: Any) -> Any:
        return submit(
            RunRequest(script=script, environment=environment, compute="local", **request),
            settings=world.settings(),
            outside=world.outside(),
        )

    monkeypatch.setenv("API_TOKEN", "from-the-shell")
    first = run(str(env_file))
    assert "token from-the-shell" in Path(first.record.logs_path).read_text()
    monkeypatch.delenv("API_TOKEN")
    with pytest.raises(MlenvError, match="variable API_TOKEN is a secret kept as a reference"):
        run("train:1")
    given = run("train:1", variables=(("API_TOKEN", "from-the-caller"),))
    assert "token from-the-caller" in Path(given.record.logs_path).read_text()
    assert given.record.variables == ("API_TOKEN",)
