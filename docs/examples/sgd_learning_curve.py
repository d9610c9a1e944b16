"""The SGD family compared on MovieLens-100k, with a learning curve.

Funk SVD (``sgd``), SVD++ (``svdpp``) and kernel MF (``kernel-mf``) on the same three folds,
every model given each fold's test set as validation data so the learning curve shows the
training loss and the test RMSE after every epoch.

    WORKBENCH_DATA_DIR=/path/to/data python docs/examples/sgd_learning_curve.py [curve.png]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import workbench as wb

data_dir = Path(os.environ["WORKBENCH_DATA_DIR"])
data = wb.load_dataset("movielens", path=str(data_dir / "ml-100k"))
models = [
    "biases",
    "sgd n_factors=100 n_epochs=25 lr=0.01 reg=0.05",
    "svdpp n_factors=20 n_epochs=25",
    "kernel-mf kernel=linear n_factors=100 n_epochs=25 lr=0.001 reg=0.005",
]
results = wb.compare(
    data, "kfold n_folds=3", models, ["rmse", "mae", "ndcg@10"], seed=42, validation=True
)
summary = results.summary()
print(summary.round(4).to_string())

# Learning curve: mean over the folds of the training loss and the validation RMSE (the
# SGD models report it each epoch; the biases baseline has no validation curve).
curves = results.curves.dropna(subset=["rmse"])
curves = curves.groupby(["model", "epoch"], sort=False)[["loss", "rmse"]].mean().reset_index()
last = curves.groupby("model").tail(1).set_index("model")
print("\nAfter the last epoch (mean over folds):")
print(last[["epoch", "loss", "rmse"]].round(4).to_string())
best = curves.loc[curves.groupby("model")["rmse"].idxmin()].set_index("model")
print("\nEpoch with the lowest validation RMSE:")
print(best[["epoch", "rmse"]].round(4).to_string())

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("sgd_learning_curve.png")
from matplotlib.figure import Figure  # noqa: E402 - only needed for the picture

fig = Figure(figsize=(9, 3.5), layout="constrained")
ax_loss, ax_rmse = fig.subplots(1, 2)
for model, curve in curves.groupby("model", sort=False):
    ax_loss.plot(curve["epoch"], curve["loss"], label=model)
    ax_rmse.plot(curve["epoch"], curve["rmse"], label=model)
ax_loss.set(title="training loss", xlabel="epoch", yscale="log")
ax_rmse.set(title="validation RMSE (test fold)", xlabel="epoch")
ax_rmse.legend()
fig.savefig(out, dpi=100)
print(f"\nwrote {out}")
