"""Three environments, two of which (different names and
versions, same base image and packages) share one hash and one image; the
third has other packages and its own image. A registry, a workspace and a
compute target are wired in by their outputs.

Run it with `make up` (from the repository root) and change a pin to see
`make preview` say why the environment would be rebuilt.
"""

import pulumi

from pulumi_mlenv.resources import ComputeTarget, ContainerRegistry, Environment, Workspace

config = pulumi.Config()
mlenv = pulumi.Config("mlenv")

registry = ContainerRegistry(
    "workspace-registry", address=mlenv.get("registry") or "127.0.0.1:5000"
)
# No path: `mlenv:workspace` config, else MLENV_WORKSPACE (the CLI's workspace too).
workspace = Workspace("workspace", path=config.get("workspacePath"))
local = ComputeTarget("local", kind="local", workspace=workspace)

# The same packages under two names and versions: one hash, one image, built once.
training_packages = {
    "channels": ["conda-forge"],
    "dependencies": ["python=3.11", "pip", {"pip": ["numpy==2.1.3", "pyyaml==6.0.2"]}],
}
train = Environment(
    "train",
    version="1",
    description="training",
    python={"conda": training_packages},
    environment_variables={"OMP_NUM_THREADS": "2"},
    workspace=workspace,
    registry=registry,
)
train_copy = Environment(
    "train-copy",
    name="experiments",
    version="7",
    description="same packages, another name and version",
    python={"conda": training_packages},
    workspace=workspace,
    registry=registry,
)
# Other packages: a hash of its own, an image of its own.
scoring = Environment(
    "scoring",
    python={
        "conda": {
            "channels": ["conda-forge"],
            "dependencies": ["python=3.11", {"pip": ["requests==2.32.3", "pyyaml==6.0.2"]}],
        }
    },
    workspace=workspace,
    registry=registry,
)

pulumi.export("compute_target", local.name)
pulumi.export(
    "hashes", {"train": train.hash, "experiments": train_copy.hash, "scoring": scoring.hash}
)
pulumi.export(
    "images", {"train": train.image, "experiments": train_copy.image, "scoring": scoring.image}
)
pulumi.export(
    "built", {"train": train.built, "experiments": train_copy.built, "scoring": scoring.built}
)
pulumi.export(
    "versions",
    {"train": train.version, "experiments": train_copy.version, "scoring": scoring.version},
)
pulumi.export(
    "shared_image", pulumi.Output.all(train.image, train_copy.image).apply(lambda i: i[0] == i[1])
)
