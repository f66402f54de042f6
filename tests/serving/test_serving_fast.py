"""Every decision of models, deployments and endpoints, without a daemon:
the use cases and the Model, Deployment and Endpoint resources driven in
process against the in-memory outside world (tests/support/fakes.py: the
engine, BuildKit, the registry, HAProxy, ports and HTTP), with the
workspace's stores real (SQLite in a temporary folder). The engine tier
serves a real model through the real engine, BuildKit and HAProxy once
(test_deployments.py, test_proxy.py, resources/test_train_and_serve.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.errors import EngineError, MlenvError, SpecError
from pulumi_mlenv.service import deployments as deps
from pulumi_mlenv.service import endpoints, models
from pulumi_mlenv.service.environments import provision, resolve
from pulumi_mlenv.workspace.serving_store import ServingStore
from support.fakes import FakeWorld

SCORE = "def init():\n    pass\n\ndef run(raw_data):\n    return raw_data\n"


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    return FakeWorld(tmp_path)


def _environment(world: FakeWorld, name: str = "serve", **python: Any) -> str:
    spec = parse_definition(
        {
            "name": name,
            "python": python or {"conda": {"dependencies": [{"pip": ["six==1.16.0"]}]}},
        }
    )
    settings = world.settings()
    resolved = resolve(spec, settings, outside=world.outside())
    done = provision(resolved, settings=settings, outside=world.outside())
    return f"{name}:{done.version}"


def _model(world: FakeWorld, name: str = "clf", content: str = "weights") -> str:
    folder = world.root / f"model-{name}-{content}"
    folder.mkdir(exist_ok=True)
    (folder / "model.pkl").write_text(content)
    done = models.register_model(
        name,
        folder,
        settings=world.settings(),
        workspace_url=world.workspace_url,
        outside=world.outside(),
    )
    return done.model.label


def _spec(world: FakeWorld, **changes: Any) -> deps.DeploymentSpec:
    code = world.root / "code"
    code.mkdir(exist_ok=True)
    (code / "score.py").write_text(changes.pop("script", SCORE))
    fields: dict[str, Any] = {
        "name": "blue",
        "model": changes.pop("model", None) or _model(world),
        "environment": changes.pop("environment", None) or _environment(world),
        "entry_script": str(code / "score.py"),
        "compute_url": "unix:///fake.sock",
        "timeout": 5.0,
    }
    return deps.DeploymentSpec(**{**fields, **changes})


def _deploy(world: FakeWorld, spec: deps.DeploymentSpec) -> deps.Deployed:
    return deps.deploy(
        spec, settings=world.settings(), workspace_url=world.workspace_url, outside=world.outside()
    )


def _deployments(world: FakeWorld) -> list[Any]:
    with ServingStore(world.workspace_url) as store:
        return store.list_deployments()


# -- deployments -----------------------------------------------------------------


def test_a_deployment_builds_its_inference_image_once_and_is_healthy(world: FakeWorld) -> None:
    done = _deploy(world, _spec(world))
    assert done.built and done.status == "healthy"
    assert done.image.endswith(f"@{done.image_digest}")
    assert done.scoring_uri == f"http://127.0.0.1:{done.port}/score"
    assert len(world.inference_builds) == 1
    (record,) = _deployments(world)
    assert (record.status, record.port, record.container_id) == (
        "healthy",
        done.port,
        done.container_id,
    )
    service = world.services[done.container_id]
    assert service.spec.env["AZUREML_MODEL_DIR"].endswith("/clf/1")
    assert "--entry_script" in service.spec.command


def test_the_same_environment_server_and_code_reuse_the_inference_image(
    world: FakeWorld,
) -> None:
    spec = _spec(world)
    first = _deploy(world, spec)
    second = _deploy(world, spec)
    assert not second.built and second.image == first.image
    assert len(world.inference_builds) == 1
    assert first.port != second.port, "two instances side by side get their own ports"


def test_changed_scoring_code_builds_another_inference_image(world: FakeWorld) -> None:
    first = _deploy(world, _spec(world))
    second = _deploy(world, _spec(world, script=SCORE + "# v2\n", model=first.model_name + ":1"))
    assert second.built and second.image != first.image
    assert second.code_hash != first.code_hash


def test_an_engine_that_does_not_answer_names_compute_and_starts_nothing(
    world: FakeWorld,
) -> None:
    spec = _spec(world)
    world.down.add(spec.compute_url)
    with pytest.raises(SpecError) as err:
        _deploy(world, spec)
    assert err.value.problems[0].path == "compute"
    assert not world.services and not _deployments(world) and not world.inference_builds


def test_a_user_managed_environment_without_the_server_names_the_package(
    world: FakeWorld,
) -> None:
    env = _environment(world, "own", user_managed=True, interpreter_path="/usr/bin/python3")
    spec = _spec(world, environment=env)
    info = deps.environment_info(env, workspace_url=world.workspace_url, outside=world.outside())
    world.without_server.add(info.image)
    with pytest.raises(SpecError, match=deps.SERVER_PACKAGE) as err:
        _deploy(world, spec)
    assert err.value.problems[0].path == "environment"
    assert not world.inference_builds, "nothing is built for an environment that cannot serve"


def test_a_server_that_stops_while_starting_leaves_no_container_or_record(
    world: FakeWorld,
) -> None:
    spec = _spec(world)
    first = _deploy(world, spec)  # to learn the inference image, then mark it crashing
    deps.undeploy(
        first.instance,
        container_id=first.container_id,
        compute_url=spec.compute_url,
        workspace_url=world.workspace_url,
        outside=world.outside(),
    )
    world.crashing_images.add(first.image)
    with pytest.raises(MlenvError, match="stopped while starting") as err:
        _deploy(world, spec)
    assert "end of the server's log" in str(err.value)
    assert not world.services and not _deployments(world)


def test_a_server_that_never_answers_names_the_timeout_input(world: FakeWorld) -> None:
    spec = _spec(world, port=20100)
    world.never_live.add(20100)
    with pytest.raises(MlenvError, match=r"within 5 s \(the timeout input\)"):
        _deploy(world, spec)
    assert not world.services and not _deployments(world)


def test_a_fixed_port_in_use_names_port_and_starts_nothing(world: FakeWorld) -> None:
    spec = _spec(world, port=20200)
    world.busy.add(20200)
    problems = deps.check_deployment(
        spec, workspace_url=world.workspace_url, outside=world.outside()
    )
    assert [p.path for p in problems] == ["port"]
    with pytest.raises(SpecError, match="already in use"):
        _deploy(world, spec)
    assert not world.services


def test_a_fixed_port_another_deployment_records_is_refused(world: FakeWorld) -> None:
    spec = _spec(world, port=20300)
    _deploy(world, spec)
    with pytest.raises(SpecError, match="already in use"):
        _deploy(world, spec)
    assert len(_deployments(world)) == 1


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"timeout": 0.0}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"script": "def run(raw_data):\n    return 1\n"}, "entry_script"),
        ({"script": "def init(:\n"}, "entry_script"),
        ({"source": "/does/not/exist"}, "source"),
    ],
)
def test_every_input_problem_is_named_before_anything_starts(
    world: FakeWorld, changes: dict[str, Any], path: str
) -> None:
    spec = _spec(world, **changes)
    problems = deps.check_deployment(spec, workspace_url=None, outside=world.outside())
    assert path in [p.path for p in problems]
    with pytest.raises(SpecError):
        _deploy(world, spec)
    assert not world.services and not world.inference_builds


def test_a_model_not_registered_is_a_problem_of_model(world: FakeWorld) -> None:
    spec = _spec(world, model="nothing:1")
    problems = deps.check_deployment(
        spec, workspace_url=world.workspace_url, outside=world.outside()
    )
    assert [p.path for p in problems] == ["model"]


def test_health_is_healthy_then_unhealthy_then_unknown_when_the_engine_is_away(
    world: FakeWorld,
) -> None:
    spec = _spec(world)
    done = _deploy(world, spec)

    def health() -> str:
        return deps.deployment_health(
            done.instance,
            container_id=done.container_id,
            compute_url=spec.compute_url,
            port=done.port,
            workspace_url=world.workspace_url,
            outside=world.outside(),
        )

    assert health() == "healthy"
    world.services[done.container_id].running = False
    assert health() == "unhealthy"
    assert _deployments(world)[0].status == "unhealthy"
    world.down.add(spec.compute_url)
    assert health() == "unknown"
    assert _deployments(world)[0].status == "unhealthy", "unknown is never recorded"


def test_undeploy_removes_the_container_and_frees_the_port(world: FakeWorld) -> None:
    spec = _spec(world, port=20400)
    done = _deploy(world, spec)

    def undeploy() -> bool:
        return deps.undeploy(
            done.instance,
            container_id=done.container_id,
            compute_url=spec.compute_url,
            workspace_url=world.workspace_url,
            outside=world.outside(),
        )

    assert undeploy() is True
    assert not world.services and not _deployments(world)
    assert undeploy() is False, "already gone is fine"
    assert _deploy(world, spec).port == 20400


def test_list_deployments_shows_every_instance(world: FakeWorld) -> None:
    spec = _spec(world)
    _deploy(world, spec)
    _deploy(world, spec)
    listed = deps.list_deployments(world.workspace_url, outside=world.outside())
    assert {d.name for d in listed} == {"blue"} and len(listed) == 2


# -- endpoints -------------------------------------------------------------------


def _backends(*weights: tuple[str, int, int]) -> tuple[Any, ...]:
    return endpoints.backends_from(
        [
            {"name": n, "scoring_uri": f"http://127.0.0.1:{p}/score", "weight": w}
            for n, p, w in weights
        ]
    )


def _apply(world: FakeWorld, *weights: tuple[str, int, int], port: int | None = None) -> Any:
    return endpoints.apply_endpoint(
        "scoring",
        _backends(*weights),
        settings=world.settings(),
        workspace_url=world.workspace_url,
        port=port,
        outside=world.outside(),
    )


def test_an_endpoint_starts_its_proxy_with_the_weights(world: FakeWorld) -> None:
    record = _apply(world, ("blue", 9001, 90), ("green", 9002, 10))
    ((port, backends),) = world.proxies.values()
    assert port == record.port and world.proxy_starts == 1
    assert [(b.name, b.weight) for b in backends] == [("blue", 90), ("green", 10)]
    assert record.scoring_uri == f"http://127.0.0.1:{record.port}/score"


def test_new_weights_reload_the_proxy_on_the_same_port(world: FakeWorld) -> None:
    first = _apply(world, ("blue", 9001, 90), ("green", 9002, 10))
    second = _apply(world, ("blue", 9001, 0), ("green", 9002, 100))
    assert second.port == first.port
    assert (world.proxy_starts, world.proxy_reloads) == (1, 1)
    ((_, backends),) = world.proxies.values()
    assert [b.weight for b in backends] == [0, 100]


def test_a_fixed_endpoint_port_in_use_is_refused_and_nothing_starts(world: FakeWorld) -> None:
    world.busy.add(20500)
    problems = endpoints.check_endpoint(
        [{"name": "a", "scoring_uri": "http://127.0.0.1:1/score", "weight": 1}],
        port=20500,
        check_port=True,
        outside=world.outside(),
    )
    assert [p.path for p in problems] == ["port"]
    with pytest.raises(SpecError, match="already in use"):
        _apply(world, ("blue", 9001, 1), port=20500)
    assert not world.proxies


def test_a_proxy_that_cannot_start_leaves_no_endpoint_record(world: FakeWorld) -> None:
    world.down.add("proxy")
    with pytest.raises(EngineError, match="haproxy"):
        _apply(world, ("blue", 9001, 1))
    assert (
        endpoints.list_endpoints(workspace_url=world.workspace_url, outside=world.outside()) == []
    )


def test_endpoint_state_and_removal(world: FakeWorld) -> None:
    record = _apply(world, ("blue", 9001, 1))
    io = world.outside()
    state = endpoints.endpoint_state("scoring", workspace_url=world.workspace_url, outside=io)
    assert state is not None and state.running and state.port == record.port
    assert endpoints.endpoint_state("other", workspace_url=world.workspace_url, outside=io) is None
    assert endpoints.remove_endpoint("scoring", workspace_url=world.workspace_url, outside=io)
    assert not world.proxies
    assert not endpoints.remove_endpoint("scoring", workspace_url=world.workspace_url, outside=io)


def test_invoke_posts_to_the_endpoint_and_names_one_that_does_not_answer(
    world: FakeWorld,
) -> None:
    _apply(world, ("blue", 9001, 0), ("green", 9002, 5))
    io = world.outside()
    status, body = endpoints.invoke(
        "scoring", b'{"data": [1]}', workspace_url=world.workspace_url, outside=io
    )
    assert status == 200 and json.loads(body)["deployment"] == "green"
    with pytest.raises(MlenvError, match="no endpoint nothing"):
        endpoints.invoke("nothing", b"{}", workspace_url=world.workspace_url, outside=io)
    world.proxies.clear()
    with pytest.raises(EngineError, match=r"endpoint scoring at .* did not answer"):
        endpoints.invoke("scoring", b"{}", workspace_url=world.workspace_url, outside=io)


# -- models ----------------------------------------------------------------------


def test_the_same_content_keeps_its_version_new_content_gets_the_next(world: FakeWorld) -> None:
    assert _model(world, "clf", "a") == "clf:1"
    assert _model(world, "clf", "a") == "clf:1"
    assert _model(world, "clf", "b") == "clf:2"
    listed = models.list_models("clf", workspace_url=world.workspace_url, outside=world.outside())
    assert [m.version for m in listed] == ["1", "2"]
    found = models.find_model("clf", workspace_url=world.workspace_url, outside=world.outside())
    assert found.version == "2"


def test_lineage_of_an_environment_names_its_image_and_lock(world: FakeWorld) -> None:
    env = _environment(world)
    name, _, version = env.partition(":")
    lineage = models.lineage_of_environment(
        name, version, workspace_url=world.workspace_url, outside=world.outside()
    )
    assert lineage.env_name == name and lineage.env_image and "@sha256:" in lineage.env_image
    assert lineage.env_lock == ("six==1.16.0",)
    with pytest.raises(SpecError, match="no environment version nothing:1"):
        models.lineage_of_environment(
            "nothing", "1", workspace_url=world.workspace_url, outside=world.outside()
        )


@pytest.mark.parametrize("name", ["", "a:b", "a/b", "a@b", "a b", "x" * 201])
def test_unusable_model_names_are_refused(world: FakeWorld, name: str) -> None:
    folder = world.root / "m"
    folder.mkdir()
    (folder / "w").write_text("1")
    with pytest.raises(SpecError) as err:
        models.register_model(
            name,
            folder,
            settings=world.settings(),
            workspace_url=world.workspace_url,
            outside=world.outside(),
        )
    assert err.value.problems[0].path == "name"


# -- the resources over the same fakes -------------------------------------------


def test_the_deployment_resource_creates_reads_and_deletes(world: FakeWorld) -> None:
    from pulumi_mlenv.resources.deployment import DeploymentProvider

    spec = _spec(world)
    provider = DeploymentProvider(outside=world.outside())
    news = {
        "name": "blue",
        "model": spec.model,
        "environment": spec.environment,
        "entry_script": spec.entry_script,
        "compute": spec.compute_url,
        "timeout": 5.0,
        "workspace": world.workspace_url,
    }
    checked = provider.check({}, news)
    assert not checked.failures, [f.reason for f in checked.failures]
    outs = provider.create(checked.inputs).outs
    assert outs["status"] == "healthy" and outs["built"] is True
    read = provider.read(str(outs["container_id"]), outs)
    assert read.outs["status"] in ("healthy", "unhealthy")
    instance = _deployments(world)[0].instance
    provider.delete(instance, outs)
    assert not world.services and not _deployments(world)


def test_the_deployment_resource_names_an_engine_that_does_not_answer(world: FakeWorld) -> None:
    from pulumi_mlenv.resources.deployment import DeploymentProvider

    spec = _spec(world)
    world.down.add("unix:///elsewhere.sock")
    result = DeploymentProvider(outside=world.outside()).check(
        {},
        {
            "name": "blue",
            "entry_script": spec.entry_script,
            "compute": "unix:///elsewhere.sock",
            "workspace": world.workspace_url,
        },
    )
    assert [f.property for f in result.failures] == ["compute"]


def test_the_endpoint_resource_updates_weights_without_a_replace(world: FakeWorld) -> None:
    from pulumi_mlenv.resources.endpoint import EndpointProvider

    provider = EndpointProvider(outside=world.outside())
    old = {
        "name": "scoring",
        "deployments": [
            {"name": "blue", "scoring_uri": "http://127.0.0.1:9001/score", "weight": 90},
            {"name": "green", "scoring_uri": "http://127.0.0.1:9002/score", "weight": 10},
        ],
        "workspace": world.workspace_url,
    }
    outs = provider.create(provider.check({}, old).inputs).outs
    new = {**old, "deployments": [{**old["deployments"][0], "weight": 50}, old["deployments"][1]]}
    diff = provider.diff("scoring", outs, provider.check(outs, new).inputs)
    assert diff.changes and not diff.replaces
    updated = provider.update("scoring", outs, provider.check(outs, new).inputs).outs
    assert updated["port_in_use"] == outs["port_in_use"] and world.proxy_reloads == 1
    provider.delete("scoring", updated)
    assert not world.proxies


def test_the_model_resource_registers_with_the_environment_lineage(world: FakeWorld) -> None:
    from pulumi_mlenv.resources.model import ModelProvider

    env = _environment(world)
    folder = world.root / "weights"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"\0\1")
    provider = ModelProvider(outside=world.outside())
    news = {
        "name": "clf",
        "path": str(folder),
        "environment": env,
        "workspace": world.workspace_url,
    }
    checked = provider.check({}, news)
    assert not checked.failures, [f.reason for f in checked.failures]
    outs = provider.create(checked.inputs).outs
    assert outs["version"] == "1"
    found = models.find_model("clf:1", workspace_url=world.workspace_url, outside=world.outside())
    assert found.lineage is not None and found.lineage.env_name == "serve"
