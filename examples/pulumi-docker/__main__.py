"""Our image digests feed other providers' resources: here a pulumi-docker
container runs a training script in an environment, pinned by digest, so the
run can be reproduced exactly, in the very environment it first ran in.

Needs the `pulumi-resource-docker` plugin (Pulumi installs it where it can
download plugins; it cannot be built from the Go module proxy, so it is absent
on our offline development machines).
"""

import pulumi
import pulumi_docker as docker

from pulumi_mlenv.resources import ContainerRegistry, Environment, Workspace

mlenv = pulumi.Config("mlenv")
config = pulumi.Config()
registry = ContainerRegistry("registry", address=mlenv.get("registry") or "127.0.0.1:5000")
workspace = Workspace("workspace", path=config.get("workspacePath") or "pulumi-docker.db")

train = Environment(
    "train",
    python={"conda": {"dependencies": ["python=3.11", {"pip": ["six==1.17.0"]}]}},
    workspace=workspace,
    registry=registry,
)

image = docker.RemoteImage("train-image", name=train.image, keep_locally=True)
run = docker.Container(
    "train-run",
    image=image.image_id,
    command=["/opt/mlenv/venv/bin/python", "-c", "import six; print(six.__version__)"],
    network_mode="host",
    must_run=False,
    attach=True,
    logs=True,
)
pulumi.export("image", train.image)
pulumi.export("logs", run.container_logs)
