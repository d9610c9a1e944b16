"""MovieLens-100k folds for the model tests (read directly, independent of the datasets plugin).

The folds are a seeded permutation of the ratings: each rating is in exactly one test fold,
the same folds for every model (the benchmark uses the same construction).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import Interactions
from workbench.model import Model


def load_ml100k(data_dir: Path) -> Interactions:
    path = Path(data_dir) / "ml-100k" / "u.data"
    df = pd.read_csv(path, sep="\t", names=["user", "item", "rating", "timestamp"])
    return Interactions.from_pandas(
        df, value="rating", timestamp="timestamp", rating_scale=(1, 5), name="ml-100k"
    )


def kfold(data: Interactions, k: int = 5, seed: int = 0) -> list[tuple[Interactions, Interactions]]:
    perm = np.random.default_rng(seed).permutation(len(data))
    fold = np.empty(len(data), dtype=np.int64)
    fold[perm] = np.arange(len(data)) % k
    return [(data.subset(fold != f), data.subset(fold == f)) for f in range(k)]


def rmse(model: Model, test: Interactions) -> float:
    """RMSE of predictions clipped to 1..5."""
    pred = np.clip(model.predict(test.user, test.item), 1, 5).astype(np.float64)
    return float(np.sqrt(np.mean((pred - test.value) ** 2)))


def cv_rmse(make, data: Interactions, n_folds: int = 2) -> float:
    """Mean test RMSE over the first ``n_folds`` of the 5 folds."""
    return float(np.mean([rmse(make().fit(tr), te) for tr, te in kfold(data)[:n_folds]]))
