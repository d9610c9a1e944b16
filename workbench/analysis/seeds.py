"""Seed variance apart from fold variance, for models trained with several seeds on the
same split (``compare --seeds``).

For one model and metric, ``x[f, s]`` is the value on fold f with seed s. Reported:

- ``fold_std``: the standard deviation over folds of the per-fold mean over seeds
  (how much the figure moves with the data);
- ``seed_std``: the square root of the mean over folds of the variance over seeds
  (ddof=1; how much it moves with the training seed alone, data fixed);
- ``mean``: the mean of all ``x[f, s]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

COLUMNS = ["metric", "model", "n_seeds", "n_folds", "mean", "fold_std", "seed_std"]


def seed_variance(results: Any, groups: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """One row per (metric, base model) of ``groups`` (base label -> seeded labels)."""
    rows = []
    for metric in results.metric_labels:
        table = results.per_fold(metric)
        for base, labels in groups.items():
            present = [lab for lab in labels if lab in table.columns]
            if not present:
                continue
            x = table[present].dropna(axis=0, how="any").to_numpy(dtype=np.float64)
            if x.size == 0:
                continue
            n_folds, n_seeds = x.shape
            fold_std = float(np.std(x.mean(axis=1), ddof=1)) if n_folds > 1 else float("nan")
            # a fold whose seeds agree exactly has variance 0 (np.var's mean may round)
            var = np.where(np.ptp(x, axis=1) == 0, 0.0, np.var(x, axis=1, ddof=1))
            seed_std = float(np.sqrt(np.mean(var))) if n_seeds > 1 else float("nan")
            rows.append(
                {"metric": metric, "model": base, "n_seeds": n_seeds, "n_folds": n_folds,
                 "mean": float(x.mean()), "fold_std": fold_std, "seed_std": seed_std}
            )  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)
