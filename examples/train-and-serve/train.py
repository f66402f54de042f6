"""Train a small classifier on the iris data set (bundled with scikit-learn,
no download) and write it to the run's outputs ($MLENV_OUTPUTS) as model.pkl
(outside a run: to the folder given, else ./outputs)."""

import os
import pathlib
import pickle
import sys

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MLENV_OUTPUTS", "outputs"))
out.mkdir(parents=True, exist_ok=True)
data = load_iris()
model = LogisticRegression(max_iter=500).fit(data.data, data.target)
(out / "model.pkl").write_bytes(pickle.dumps(model))
print(f"trained: accuracy {model.score(data.data, data.target):.3f} -> {out / 'model.pkl'}")
