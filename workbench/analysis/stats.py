"""Paired significance tests across folds: the best model against each other model.

For every metric the model with the best mean over the folds every model finished is compared
with each other model on the same folds (the pairs share train and test data, so the tests
are paired):

- ``t_pvalue``: the paired t-test (`scipy.stats.ttest_rel`).
- ``corrected_pvalue``: the same t statistic with Nadeau and Bengio's variance correction
  ``(1/k + n_test/n_train) * var`` for resampled training sets (k-fold training sets overlap,
  which makes the plain t-test over-confident). ``significant`` uses this p-value.
- ``wilcoxon_pvalue``: the Wilcoxon signed-rank test (`scipy.stats.wilcoxon`); with few folds
  it cannot reach small p-values (3 folds: at least 0.25), which is the honest answer.

Fewer than two complete folds give NaN p-values.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from workbench.results import Results

COLUMNS = [
    "metric",
    "best",
    "other",
    "n_folds",
    "best_mean",
    "other_mean",
    "mean_diff",
    "t_statistic",
    "t_pvalue",
    "corrected_pvalue",
    "wilcoxon_statistic",
    "wilcoxon_pvalue",
    "significant",
]


def _test_train_ratio(results: Results) -> float | None:
    runs = results.runs
    if runs.empty or not {"n_train", "n_test"} <= set(runs.columns):
        return None
    n_train = pd.to_numeric(runs["n_train"], errors="coerce")
    n_test = pd.to_numeric(runs["n_test"], errors="coerce")
    ratio = (n_test / n_train.where(n_train > 0)).dropna()
    return float(ratio.mean()) if len(ratio) else None


def paired_test(
    best: np.ndarray, other: np.ndarray, *, test_train_ratio: float | None = None
) -> dict[str, float]:
    """Paired t-test (plain and corrected) and Wilcoxon signed-rank on two fold vectors."""
    from scipy import stats

    best = np.asarray(best, dtype=np.float64)
    other = np.asarray(other, dtype=np.float64)
    diff = best - other
    k = len(diff)
    out = {
        "t_statistic": math.nan,
        "t_pvalue": math.nan,
        "corrected_pvalue": math.nan,
        "wilcoxon_statistic": math.nan,
        "wilcoxon_pvalue": math.nan,
    }
    if k < 2:
        return out
    var = float(np.var(diff, ddof=1))
    mean = float(diff.mean())
    if var == 0.0:
        # The same difference on every fold: none at all is no evidence (p = 1); a perfectly
        # consistent non-zero difference has an infinite t statistic (p = 0).
        p = 1.0 if mean == 0.0 else 0.0
        out.update(t_pvalue=p, corrected_pvalue=p)
    else:
        t = mean / math.sqrt(var / k)
        out["t_statistic"] = t
        out["t_pvalue"] = float(2 * stats.t.sf(abs(t), k - 1))
        ratio = test_train_ratio if test_train_ratio is not None else 1.0 / max(k - 1, 1)
        t_corr = mean / math.sqrt((1.0 / k + ratio) * var)
        out["corrected_pvalue"] = float(2 * stats.t.sf(abs(t_corr), k - 1))
    if np.any(diff != 0):
        w = stats.wilcoxon(diff)
        out["wilcoxon_statistic"] = float(w.statistic)
        out["wilcoxon_pvalue"] = float(w.pvalue)
    else:
        out["wilcoxon_pvalue"] = 1.0
    return out


def significance(
    results: Results, metrics: list[str] | None = None, *, alpha: float = 0.05
) -> pd.DataFrame:
    """One row per (metric, other model): the best model against it, paired over folds."""
    rows: list[dict[str, Any]] = []
    ratio = _test_train_ratio(results)
    for metric in metrics or results.metric_labels:
        table = results.per_fold(metric).dropna(axis=0, how="any")
        if table.shape[1] < 2 or table.shape[0] == 0:
            continue
        means = table.mean()
        higher = results.higher_is_better(metric)
        best = str(means.idxmax() if higher else means.idxmin())
        for other in table.columns:
            if other == best:
                continue
            test = paired_test(
                table[best].to_numpy(), table[other].to_numpy(), test_train_ratio=ratio
            )
            p = test["corrected_pvalue"]
            rows.append(
                {
                    "metric": metric,
                    "best": best,
                    "other": str(other),
                    "n_folds": int(table.shape[0]),
                    "best_mean": float(means[best]),
                    "other_mean": float(means[other]),
                    "mean_diff": float(means[best] - means[other]),
                    **test,
                    "significant": bool(p == p and p < alpha),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def significance_records(results: Results) -> list[dict[str, Any]]:
    """`significance` as JSON-ready records (NaN becomes None), for `Results.metadata`."""
    frame = significance(results)
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in records
    ]
