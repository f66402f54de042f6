"""Two workspaces (two clones' databases) on one registry: gc from one never
deletes a digest the other holds, and says who saves it; an image deleted on
purpose is reported as such with a well-formed reference, and a rerun of a
run whose image is gone says so in one line and offers the rebuild.

The registry is the shared one on 127.0.0.1:5000 under a namespace of this
test's own: BuildKit here pushes over plain HTTP only to the addresses its
configuration names (scripts/setup-buildkit.sh), so a registry on a free
port could not receive the image.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from pulumi_mlenv.config import Settings
from pulumi_mlenv.registry import RegistryClient
from pulumi_mlenv.service import environments as envs
from pulumi_mlenv.service.holds import release, split_image, workspace_id
from support.runs import Cli, definition

pytestmark = pytest.mark.docker


def test_gc_in_one_workspace_keeps_what_another_holds_and_tells_what_it_deleted(
    tmp_path: Path, machine: dict[str, str], probe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = f"{machine['MLENV_REGISTRY']}/t-{uuid.uuid4().hex[:10]}"
    name = f"shared-{uuid.uuid4().hex[:8]}"
    env_file = definition(tmp_path / "def", name, ["six==1.16.0"])
    b_dir, a_dir = tmp_path / "b", tmp_path / "a"
    b_dir.mkdir(), a_dir.mkdir()
    b = Cli(b_dir, MLENV_REGISTRY=registry)
    a = Cli(a_dir, MLENV_REGISTRY=registry)
    b_url, a_url = b.env["MLENV_WORKSPACE"], a.env["MLENV_WORKSPACE"]

    # Workspace B records a docker run: its hold is written beside the image
    # (first by the registration of its version, then kept for the run).
    run = b.json("run", "submit", str(probe), "--env", str(env_file), "-c", "docker", "--json",
                 "--", "six")  # fmt: skip
    image = run["environment"]["image"]
    place = split_image(image)
    assert place is not None
    with RegistryClient(place.registry) as client:
        tags = client.tags(place.repository)
    assert f"hold-{place.digest[7:19]}-{workspace_id(b_url)}" in tags

    # Workspace A registers the same definition through a stack, then destroys it.
    monkeypatch.setenv("MLENV_WORKSPACE", a_url)
    monkeypatch.setenv("MLENV_REGISTRY", registry)
    settings = Settings.from_env()
    resolved = envs.resolve(envs.definition_from_inputs({"source": str(env_file)}), settings)
    provisioned = envs.provision(resolved, settings=settings, holder="proj/dev")
    assert provisioned.image == image and not provisioned.built  # reused by hash
    assert envs.retire(name, provisioned.version, a_url, holder="proj/dev")

    # A's gc: the digest is B's; the dry run and the real one say who saves it.
    dry = a("gc", "--dry-run", "--keep-days", "0")
    assert dry.returncode == 0, dry.stderr
    assert f"kept {image}: held by workspace {workspace_id(b_url)} (version, since" in dry.stdout
    done = a.json("gc", "--keep-days", "0", "--json")
    assert done["deleted"] == [] and [s["image"] for s in done["saved"]] == [image]
    with RegistryClient(place.registry) as client:
        assert client.digest_of(place.repository, place.digest) == place.digest
    # B's own dry run names its holder.
    own = b("gc", "--dry-run", "--keep-days", "0")
    assert f"kept {place.digest}: held here by version {name}:1, run:{run['id']}" in own.stdout

    # Once B no longer holds it (its hold deleted by its own digest), A's gc deletes it.
    assert release(image, settings=Settings.from_env(), workspace_url=b_url)
    gone = a.json("gc", "--keep-days", "0", "--json")
    assert [d["image"] for d in gone["deleted"]] == [image]

    # B is told what happened, with a well-formed reference.
    details = b("image", "details", f"{name}:1")
    assert details.returncode != 0
    line = details.stderr.strip().splitlines()[-1]
    assert f"no image {image} in the registry: deleted by gc on " in line
    assert f"from workspace {workspace_id(a_url)}" in line
    again = b("run", "rerun", run["id"])
    assert again.returncode != 0
    [said] = [x for x in again.stderr.splitlines() if x.strip()]
    assert f"the image of run {run['id']} ({image}) is gone from its registry" in said
    assert f"mlenv run rerun {run['id']} --rebuild" in said
    rebuilt = b.json("run", "rerun", run["id"], "--rebuild", "--json")
    assert rebuilt["status"] == "completed" and rebuilt["rerun_of"] == run["id"]
    # Builds are reproducible: the same definition gives the same digest back.
    assert rebuilt["environment"]["image"] == image
    with RegistryClient(place.registry) as client:
        assert client.digest_of(place.repository, place.digest) == place.digest
    report = json.loads((Path(rebuilt["outputs"]) / "probe.json").read_text())
    assert report["driver"]["versions"] == {"six": "1.16.0"}
