"""Kernel MF on MovieLens-100k: train, add new users without retraining, test.

The workflow of the tutorial this project grew from (the ``matrix-factorization`` package:
``train_update_test_split``, ``KernelMF.fit``, ``update_users``, ``predict``), with the
workbench's models and evaluation protocol:

1. 20 % of the users are *new*: the model never sees them while training.
2. Half of each new user's ratings arrive later; ``update_users`` folds them in with the item
   factors frozen (a few SGD passes over those users only, no retraining).
3. The model is tested on the other half of the new users' ratings.

Run it with the data folder set (see ``../shared/data/SOURCES.md``)::

    WORKBENCH_DATA_DIR=/path/to/data python docs/examples/kernel_mf_new_users.py
"""

from __future__ import annotations

import os
from pathlib import Path

import workbench as wb

data_dir = Path(os.environ["WORKBENCH_DATA_DIR"])
data = wb.load_dataset("movielens", path=str(data_dir / "ml-100k"))
(split,) = wb.split(data, "new-users", user_fraction=0.2, history_fraction=0.5, seed=42)
n_new = len(set(split.history.user))
print(f"{data}")
print(
    f"train: {len(split.train)} ratings of the known users; update: {len(split.history)} "
    f"ratings of {n_new} new users; test: {len(split.test)} ratings of the new users"
)

# The tutorial's settings: linear kernel, 100 factors, 20 epochs, lr 0.001, reg 0.005.
model = wb.make_model(
    "kernel-mf", kernel="linear", n_factors=100, n_epochs=20, lr=0.001, reg=0.005, seed=42
)
model.fit(split.train)

# Before the update the new users are cold: the model falls back to mu + b_i for them.
metrics = ["rmse", "mae", "ndcg@10", "recall@10"]
before = wb.evaluate_model(model, split.test, metrics)
model.update_users(split.history)
after = wb.evaluate_model(model, split.test, metrics)
table = after.merge(before, on="metric", how="left", suffixes=("", "_cold")).rename(
    columns={"value": "after update_users", "value_cold": "before (cold)"}
)
print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))

# Recommendations for one new user (titles come with the model), seen items excluded.
user = split.history.users.id_of(split.history.user[:1])[0]
print(f"\nTop 5 for new user {user}:")
print(wb.recommend(model, [user], k=5).to_string(index=False))

# The same protocol as one call: `compare` folds the history in for every model and fold.
results = wb.compare(
    data,
    "new-users user_fraction=0.2 history_fraction=0.5 n_folds=2",
    [
        "kernel-mf kernel=linear n_factors=100 n_epochs=20 lr=0.001 reg=0.005",
        "biases",
    ],
    ["rmse", "ndcg@10"],
    seed=42,
)
print("\nNew users, two folds of held-out users:")
print(results.summary().round(4).to_string())
