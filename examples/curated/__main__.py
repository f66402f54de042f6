"""A curated environment (ready-made, prebuilt) and a copy with one package
added: any change to a curated definition makes a new, non-curated
environment, with its own hash."""

import pulumi

from pulumi_mlenv.definition import get_curated, to_dict
from pulumi_mlenv.resources import ContainerRegistry, Environment, Workspace

config = pulumi.Config()
mlenv = pulumi.Config("mlenv")
registry = ContainerRegistry("registry", address=mlenv.get("registry") or "127.0.0.1:5000")
workspace = Workspace("workspace", path=config.get("workspacePath") or "curated.db")

curated = Environment(
    "python311", curated="python311-minimal", workspace=workspace, registry=registry
)

# Start from the catalog entry and add one package: a new, non-curated environment.
python = to_dict(get_curated("python311-minimal"))["python"]
python["conda"]["dependencies"].append({"pip": ["six==1.17.0"]})
custom = Environment(
    "python311-six",
    name="python311-with-six",
    python=python,
    workspace=workspace,
    registry=registry,
)

pulumi.export("curated", {"kind": curated.kind, "hash": curated.hash, "image": curated.image})
pulumi.export("custom", {"kind": custom.kind, "hash": custom.hash, "image": custom.image})
