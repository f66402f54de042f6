"""examples/train-and-serve on the real engine, BuildKit, registry and
HAProxy: one scenario, run once (it builds the scikit-learn image once and
reuses it by hash for every step).

Train -> up -> score through the endpoint -> lineage in `mlenv model show`
-> a bad entry script refused in preview -> the entry script edited and
replaced under a client loop (zero failed requests) -> weights moved without
a restart -> a dead container found by refresh and replaced -> destroy
removes every container and frees every port.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
from pulumi import automation as auto

from pulumi_mlenv.compute.tcp_ports import port_in_use

from .conftest import Program

pytestmark = [pytest.mark.engine, pytest.mark.docker]

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


def _outputs(program: Program) -> dict[str, Any]:
    result = program.up()
    return {k: v.value for k, v in result.outputs.items()}


def _score(uri: str) -> dict[str, Any]:
    resp = requests.post(uri, json={"data": ROWS}, timeout=60)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _port(uri: str) -> int:
    return int(uri.split(":")[2].split("/")[0])


def _mlenv_containers() -> set[str]:
    client = docker.from_env()
    try:
        return {  # low-level: other tests' containers may vanish while listed
            str(c["Id"])
            for c in client.api.containers(all=True)
            if str(c["Names"][0]).lstrip("/").startswith(("mlenv-blue-", "mlenv-green-"))
        }
    finally:
        client.close()


class ClientLoop:
    """Requests through the endpoint, one after another, until stopped."""

    def __init__(self, uri: str) -> None:
        self.uri, self.ok, self.failed = uri, 0, []  # type: ignore[var-annotated]
        self.answers: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                resp = requests.post(self.uri, json={"data": ROWS}, timeout=60)
                if resp.status_code == 200:
                    self.ok += 1
                    self.answers.append(resp.json())
                else:
                    self.failed.append(f"HTTP {resp.status_code}: {resp.text[:200]}")
            except requests.RequestException as exc:
                self.failed.append(str(exc))

    def __enter__(self) -> ClientLoop:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_train_and_serve(example: Callable[[str], Program], proxy: str, tmp_path: Path) -> None:
    program = example("train-and-serve")
    try:
        _scenario(program)
    finally:
        program.stack.destroy()  # whatever failed: no container or proxy left behind


def _scenario(program: Program) -> None:
    folder = Path(program.stack.workspace.work_dir)
    before = _mlenv_containers()

    out = _outputs(program)  # trains with a Run, registers its output, serves it
    trained = Path(out["run"]["outputs"]) / "model.pkl"
    assert trained.is_file()
    assert out["status"] == {"blue": "healthy", "green": "healthy"}
    assert out["built"] == {"blue": True, "green": True}  # one inference image per entry script
    endpoint = out["scoring_uri"]

    # The model's own answer, computed in the environment it was trained in.
    local = subprocess.run(
        ["python", "-c", f"import json,pickle,sys; m=pickle.load(open({str(trained)!r},'rb'));"
         f" print(json.dumps(m.predict({ROWS}).tolist()))"],
        cwd=folder, capture_output=True, text=True,
        env={**os.environ, "PATH": f"{_venv_bin(folder)}:{os.environ['PATH']}"},
    )  # fmt: skip
    assert local.returncode == 0, local.stderr
    expected = json.loads(local.stdout)
    assert expected == [0, 2]
    answers = [_score(endpoint) for _ in range(20)]
    assert all(a["predictions"] == expected for a in answers)
    assert {a["scorer"] for a in answers} <= {"blue", "green"}
    assert _score(out["deployments"]["green"])["probabilities"][0][0] > 0.9

    # Lineage: the exact environment the model was trained in.
    show = subprocess.run(
        ["mlenv", "model", "show", "iris"],
        capture_output=True, text=True,
        env={**os.environ, "MLENV_WORKSPACE": f"sqlite:///{program.workspace_db}"},
    )  # fmt: skip
    assert show.returncode == 0, show.stderr
    digest = out["environment"]["image"].rsplit("@", 1)[1]
    assert f"digest:       {digest}" in show.stdout
    assert "scikit-learn==1.5.2" in show.stdout and "numpy==2.1.3" in show.stdout
    assert out["lineage"] == {
        "run": out["run"]["id"], "environment": "iris-sklearn", "version": "1", "digest": digest,
    }  # fmt: skip
    assert f"run:          {out['run']['id']}: train.py on docker, completed" in show.stdout
    # The run recorded the same environment: run -> version -> digest -> lock.
    run = subprocess.run(
        ["mlenv", "run", "show", out["run"]["id"], "--json"], capture_output=True, text=True,
        env={**os.environ, "MLENV_WORKSPACE": f"sqlite:///{program.workspace_db}"},
    )  # fmt: skip
    recorded = json.loads(run.stdout)
    assert recorded["environment"]["image"] == out["environment"]["image"]
    assert "scikit-learn==1.5.2" in recorded["lock"]

    # A scoring script without run(): refused in preview, naming the input.
    score = folder / "score.py"
    good = score.read_text()
    score.write_text(good.replace("def run(raw_data):", "def predict(raw_data):"))
    with pytest.raises(auto.CommandError) as err:
        program.preview()
    assert "entry_script" in str(err.value) and "defines no run(raw_data)" in str(err.value)

    # The entry script edited: a replace said in words, no request lost.
    score.write_text(good.replace('"scorer": "blue"}', '"scorer": "blue", "revision": 2}'))
    preview = program.preview()
    assert "blue: replace: entry script score.py changed" in program.printed
    assert "train: runs again" not in program.printed  # .mlenvignore: not the run's source
    with ClientLoop(endpoint) as loop:
        after = _outputs(program)
    assert loop.failed == [] and loop.ok > 0
    assert after["scoring_uri"] == endpoint
    assert after["containers"]["green"] == out["containers"]["green"]
    assert after["containers"]["blue"] != out["containers"]["blue"]
    assert after["built"]["blue"] is True  # only the code layer is new
    assert _score(after["deployments"]["blue"])["revision"] == 2
    assert not port_in_use(_port(out["deployments"]["blue"]))  # the old one stopped

    # New weights: an update of the endpoint, nothing restarts.
    program.stack.set_config("blueWeight", auto.ConfigValue("0"))
    program.stack.set_config("greenWeight", auto.ConfigValue("100"))
    preview = program.preview()
    assert preview.change_summary.get("update") == 1 and "replace" not in preview.change_summary
    assert "scoring: update: traffic blue 90 -> 0, green 10 -> 100" in program.printed
    moved = _outputs(program)
    assert moved["containers"] == after["containers"]
    assert {_score(endpoint)["scorer"] for _ in range(10)} == {"green"}

    # A container that dies: refresh marks it unhealthy, the next up replaces it.
    client = docker.from_env()
    client.containers.get(moved["containers"]["green"]).kill()
    client.close()
    program.stack.refresh(on_output=program.output.append)
    program.preview()
    assert "green: replace: the running container is unhealthy" in program.printed
    healed = _outputs(program)
    assert healed["status"]["green"] == "healthy"
    assert healed["containers"]["green"] != moved["containers"]["green"]
    assert _score(endpoint)["scorer"] == "green"

    # Destroy: no container left, every port free.
    ports = [_port(endpoint), *(_port(u) for u in healed["deployments"].values())]
    program.stack.destroy()
    assert _mlenv_containers() - before == set()
    assert not any(port_in_use(p) for p in ports)


def _venv_bin(folder: Path) -> str:
    """A host virtualenv of the same environment (keyed by its hash): the model's
    own answer, computed outside the deployments."""
    from pulumi_mlenv.config import Settings
    from pulumi_mlenv.definition import load_definition
    from pulumi_mlenv.service import materialize_local

    venv = materialize_local(load_definition(str(folder / "environment.yml")), Settings.from_env())
    return str(venv / "bin")
