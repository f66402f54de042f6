"""Environments from files teams already have: a conda environment.yml, a
pip requirements.txt, an Azure ML v2 environment YAML and the folder Azure ML
v1's Environment.save_to_directory writes. Each works as it is."""

import pulumi

from pulumi_mlenv.resources import ContainerRegistry, Environment, Workspace

config = pulumi.Config()
mlenv = pulumi.Config("mlenv")
registry = ContainerRegistry("registry", address=mlenv.get("registry") or "127.0.0.1:5000")
workspace = Workspace("workspace", path=config.get("workspacePath") or "from-files.db")

sources = {
    "conda": "definitions/environment.yml",
    "pip": "definitions/requirements.txt",
    "azureml-v2": "definitions/azureml-v2/environment.yml",
    "azureml-v1": "definitions/azureml-v1",
}
# A requirements.txt carries no name: give one (other formats name themselves).
names = {"pip": "scoring-requirements"}
for key, path in sources.items():
    env = Environment(key, source=path, name=names.get(key), workspace=workspace, registry=registry)
    pulumi.export(
        key, {"name": env.name, "hash": env.hash, "image": env.image, "version": env.version}
    )
