"""Train and serve: one environment (scikit-learn) both trains the model
and serves it. A Run trains it in the environment's image; the model is
registered from the run's outputs with the run as its lineage (run ->
environment version -> image digest -> lock); two deployments of it (the
current scorer and a canary) run from that environment's image plus the
inference server, behind one endpoint that sends them 90% and 10% of the
traffic.

    pulumi up               # trains, registers, deploys, serves
    mlenv endpoint invoke scoring --data request.json
    mlenv model show iris   # the run, its environment, digest and lock
"""

import pulumi

from pulumi_mlenv.resources import (
    ComputeTarget,
    ContainerRegistry,
    Deployment,
    Endpoint,
    Environment,
    Model,
    Run,
    Workspace,
)

config = pulumi.Config()
mlenv = pulumi.Config("mlenv")

registry = ContainerRegistry("registry", address=mlenv.get("registry") or "127.0.0.1:5000")
workspace = Workspace("workspace", path=config.get("workspacePath"))
docker = ComputeTarget("docker", kind="docker", workspace=workspace)

sklearn = Environment("sklearn", source="environment.yml", workspace=workspace, registry=registry)
# Trains in the image that serves; runs again only when train.py or the
# environment changes (.mlenvignore leaves the scoring scripts out).
train = Run(
    "train", script="train.py", source=".", environment=sklearn, compute=docker,
    workspace=workspace,
)  # fmt: skip
model = Model("iris", run=train, path="model.pkl", workspace=workspace)

blue = Deployment(
    "blue",
    model=model,
    environment=sklearn,
    entry_script="score.py",
    compute=docker,
    timeout=180,
    workspace=workspace,
)
green = Deployment(
    "green",
    model=model,
    environment=sklearn,
    entry_script="score_canary.py",
    compute=docker,
    timeout=180,
    workspace=workspace,
)


def weight(key: str, default: int) -> int:
    value = config.get_int(key)
    return default if value is None else value  # 0 is a weight: no traffic


endpoint = Endpoint(
    "scoring",
    deployments={blue: weight("blueWeight", 90), green: weight("greenWeight", 10)},
    workspace=workspace,
)

pulumi.export("scoring_uri", endpoint.scoring_uri)
pulumi.export("deployments", {"blue": blue.scoring_uri, "green": green.scoring_uri})
pulumi.export("containers", {"blue": blue.container_id, "green": green.container_id})
pulumi.export("status", {"blue": blue.status, "green": green.status})
pulumi.export("built", {"blue": blue.built, "green": green.built})
pulumi.export("model", {"version": model.version, "content_hash": model.content_hash})
pulumi.export(
    "lineage",
    {
        "run": model.run_id,
        "environment": model.environment_name,
        "version": model.environment_version,
        "digest": model.environment_digest,
    },
)
pulumi.export("environment", {"image": sklearn.image, "version": sklearn.version})
pulumi.export("run", {"id": train.run_id, "outputs": train.outputs})
