"""Train and serve: one environment (scikit-learn) both trains the model
and serves it. The model is registered with the environment it was trained
in as its lineage; two deployments of it (the current scorer and a canary)
run from that environment's image plus the inference server, behind one
endpoint that sends them 90% and 10% of the traffic.

    python train_local.py   # trains outputs/model.pkl in the environment
    pulumi up               # registers, deploys, serves
    mlenv endpoint invoke scoring --data request.json
"""

import pulumi

from pulumi_mlenv.resources import (
    ComputeTarget,
    ContainerRegistry,
    Deployment,
    Endpoint,
    Environment,
    Model,
    Workspace,
)

config = pulumi.Config()
mlenv = pulumi.Config("mlenv")

registry = ContainerRegistry("registry", address=mlenv.get("registry") or "127.0.0.1:5000")
workspace = Workspace("workspace", path=config.get("workspacePath"))
docker = ComputeTarget("docker", kind="docker", workspace=workspace)

sklearn = Environment("sklearn", source="environment.yml", workspace=workspace, registry=registry)
# TODO(runs): Model("iris", run=training_run, path="model.pkl") once Run exists.
model = Model("iris", path="outputs/model.pkl", environment=sklearn, workspace=workspace)

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
        "environment": model.environment_name,
        "version": model.environment_version,
        "digest": model.environment_digest,
    },
)
pulumi.export("environment", {"image": sklearn.image, "version": sklearn.version})
