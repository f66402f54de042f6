"""Train the model in the environment, before `pulumi up`.

TODO(runs): replace this helper with a `Run` resource in __main__.py
(environment + compute target + train.py) and register the model with
`Model(run=run, path="model.pkl")`, which records the run id too.

Until then: the environment of environment.yml is materialised as a host
virtualenv keyed by its hash (the same definition the Environment resource
builds into an image; every package pinned, so the same versions), and
train.py runs in it. `pulumi up` then registers outputs/model.pkl with
`environment=` as its lineage.
"""

import pathlib
import subprocess
import sys

from pulumi_mlenv.config import Settings
from pulumi_mlenv.definition import load_definition
from pulumi_mlenv.service import materialize_local

here = pathlib.Path(__file__).resolve().parent
venv = materialize_local(load_definition(str(here / "environment.yml")), Settings.from_env())
python = venv / "bin" / "python"
sys.exit(subprocess.run([str(python), str(here / "train.py"), str(here / "outputs")]).returncode)
