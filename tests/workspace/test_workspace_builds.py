"""One build per hash across processes that share a workspace but not a cache
folder (eight CI runners): the workspace lease makes one build and the others
wait and reuse its image. Real BuildKit, registry and databases."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pulumi_mlenv.workspace import Workspace
from support.services import env_tags, fresh_settings
from support.waiting import wait_for

pytestmark = pytest.mark.docker

RUNNER = """
import json, os, sys, time
from dataclasses import replace
from pathlib import Path
from pulumi_mlenv.config import Settings
from pulumi_mlenv.service import ensure_image
from pulumi_mlenv.definition import parse_definition
from pulumi_mlenv.workspace import Workspace
from pulumi_mlenv.service.resolved import resolve
url, registry, cache, go, step, ready = sys.argv[1:7]
settings = replace(Settings.from_env(), registry=registry, cache_dir=Path(cache))
spec = parse_definition({"name": "tiny", "docker": {"steps": [step]},
                         "python": {"user_managed": True, "interpreter_path": "/usr/bin/python3"}})
ws = Workspace(url)
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
result = ensure_image(resolve(spec, settings), settings=settings, workspace=ws)
print(json.dumps({"built": result.built, "digest": result.digest, "hash": result.env_hash}))
"""


def test_eight_runners_with_their_own_caches_build_once(
    workspace_url: str, tmp_path: Path, machine: dict[str, str]
) -> None:
    settings = fresh_settings(tmp_path)
    Workspace(workspace_url).close()
    # A new hash; the build lasts long enough for every runner to miss the tag.
    step = f"RUN sleep 3 && echo {uuid.uuid4().hex} > /tmp/marker"
    go = tmp_path / "go"
    runners = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                RUNNER,
                workspace_url,
                settings.registry,
                str(tmp_path / f"cache-{i}"),
                str(go),
                step,
                str(tmp_path / f"ready-{i}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    # Every runner has imported and opened the workspace: all start at once.
    readies = [tmp_path / f"ready-{i}" for i in range(8)]

    def all_ready() -> bool:
        for runner in runners:
            if runner.poll() is not None:
                raise AssertionError(f"a runner ended early: {runner.communicate()[1]}")
        return all(r.exists() for r in readies)

    wait_for(all_ready, "the runners to open the workspace")
    go.touch()
    results = []
    for runner in runners:
        out, err = runner.communicate()
        assert runner.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["built"] for r in results) == 1
    assert len({r["digest"] for r in results}) == 1
    env_hash = results[0]["hash"]
    assert env_tags(settings) == [env_hash]
    with Workspace(workspace_url) as ws:
        assert len(ws.image_history(env_hash)) == 1
