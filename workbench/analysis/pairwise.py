"""Per-user statistics of a comparison: every pair of models, adjusted p-values, effect
sizes and bootstrap intervals (docs/metrics.md, "Statistics", has the full text).

The unit is a (fold, user) pair: each model's per-user value of a metric on one fold (the
per-user results a run keeps). Two models are compared on the (fold, user) pairs both have
a value for; the folds are **blocks**:

- **paired t over users, fold-blocked** (``t_pvalue``): the differences ``d = a - b`` are
  modelled as ``d[f, u] = mu_f + e`` (a fixed effect per fold, one within-fold variance).
  The tested quantity is the user-weighted mean difference ``D = sum_f n_f mean_f / N``
  (the plain mean over all pairs); its standard error uses the pooled *within-fold*
  variance ``s_w^2 = sum_f sum_u (d - mean_f)^2 / (N - F)``, so ``t = D sqrt(N) / s_w`` with
  ``N - F`` degrees of freedom. Differences between folds' means are not counted as noise.
  One fold: exactly `scipy.stats.ttest_rel`.
- **Wilcoxon signed-rank, stratified by fold** (``wilcoxon_pvalue``): each fold's signed
  rank sum ``S_f`` (ranks of ``|d|`` within the fold, zero differences dropped, average
  ranks for ties) with its null variance ``n_f (n_f + 1)(2 n_f + 1)/24`` less the tie
  correction; ``z = sum_f S_f / sqrt(sum_f Var_f)``, two-sided normal p-value. One fold:
  exactly `scipy.stats.wilcoxon(d, method="approx", correction=False)`.
- **effect size** (``effect_size``): Cohen's d_z of the paired differences with the same
  blocking, ``D / s_w`` (one fold: mean / sd of the differences, ddof=1).
- **fold-level test** (``corrected_pvalue``): the Nadeau-Bengio corrected t over the fold
  means (`workbench.analysis.stats.paired_test`), for every pair too.
- **adjusted p-values** (``*_adjusted``): per metric and per test over all pairs compared,
  Holm (step-down, family-wise error) by default, Benjamini-Hochberg (false discovery rate)
  as an option; `adjust` equals ``statsmodels.stats.multitest.multipletests``.

**Intervals**: a seeded percentile bootstrap over users, resampled within each fold; each
replicate recomputes the reported figure (the mean over folds of each fold's metric: the
mean over users for ranking metrics, ``sqrt(sum sq_error / sum n_rated)`` for RMSE and
``sum abs_error / sum n_rated`` for MAE), so the interval is around the number in the table.

Rating metrics' per-user values for the tests are the user's own RMSE or MAE over their
test pairs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import ParamError

PAIR_COLUMNS = [
    "metric", "model_a", "model_b", "n_folds", "n_users", "mean_a", "mean_b", "mean_diff",
    "effect_size", "t_statistic", "t_pvalue", "t_pvalue_adjusted", "wilcoxon_z",
    "wilcoxon_pvalue", "wilcoxon_pvalue_adjusted", "corrected_pvalue",
    "corrected_pvalue_adjusted", "better", "significant",
]  # fmt: skip
INTERVAL_COLUMNS = ["metric", "model", "mean", "ci_low", "ci_high", "level", "n_users", "n_boot"]
ADJUSTMENTS = ("holm", "fdr_bh")
#: bootstrap replicates at most (bounds time and memory whatever a user asks for)
MAX_BOOT = 100_000
#: index cells drawn per bootstrap chunk (bounds memory)
_CHUNK_CELLS = 1 << 22

_RATING = {"rmse": "sq_error", "mae": "abs_error"}


def adjust(pvalues: Sequence[float], method: str = "holm") -> np.ndarray:
    """Adjusted p-values: ``holm`` (Holm-Bonferroni) or ``fdr_bh`` (Benjamini-Hochberg);
    NaN entries stay NaN and are not counted."""
    if method not in ADJUSTMENTS:
        raise ParamError(f"adjustment {method!r} is not one of {', '.join(ADJUSTMENTS)}")
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q, kind="mergesort")
    ranked = q[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:
        adj = np.minimum.accumulate((m / np.arange(m, 0, -1)) * ranked[::-1])[::-1]
    back = np.empty(m)
    back[order] = np.minimum(adj, 1.0)
    out[ok] = back
    return out


def blocked_t(diff: np.ndarray, block: np.ndarray) -> tuple[float, float, float]:
    """(t, two-sided p, Cohen's d_z) of the fold-blocked paired t-test (module docs)."""
    from scipy import stats

    diff = np.asarray(diff, dtype=np.float64)
    codes, block = np.unique(block, return_inverse=True)
    n, f = len(diff), len(codes)
    if n - f < 1:
        return math.nan, math.nan, math.nan
    counts = np.bincount(block, minlength=f)
    means = np.bincount(block, weights=diff, minlength=f) / counts
    resid = diff - means[block]
    s2 = float(resid @ resid) / (n - f)
    mean = float(diff.mean())
    if s2 == 0.0:
        return math.nan, (1.0 if mean == 0.0 else 0.0), math.nan
    sd = math.sqrt(s2)
    t = mean * math.sqrt(n) / sd
    return t, float(2 * stats.t.sf(abs(t), n - f)), mean / sd


def blocked_wilcoxon(diff: np.ndarray, block: np.ndarray) -> tuple[float, float]:
    """(z, two-sided p) of the fold-stratified Wilcoxon signed-rank test (module docs)."""
    from scipy import stats

    diff = np.asarray(diff, dtype=np.float64)
    block = np.asarray(block)
    total, var = 0.0, 0.0
    for code in np.unique(block):
        d = diff[block == code]
        d = d[d != 0]
        n = len(d)
        if n == 0:
            continue
        ranks = stats.rankdata(np.abs(d))
        total += float(ranks[d > 0].sum() - ranks[d < 0].sum())
        _, ties = np.unique(ranks, return_counts=True)
        var += n * (n + 1) * (2 * n + 1) / 6.0 - float((ties**3 - ties).sum()) / 12.0
    if var == 0.0:
        return math.nan, 1.0
    z = total / math.sqrt(var)
    return z, float(2 * stats.norm.sf(abs(z)))


def user_values(frame: pd.DataFrame, metric: str) -> pd.Series | None:
    """One model's per-user values of ``metric`` on one fold (index: user), or None when
    the frame does not hold that metric. Ranking metrics: users with a relevant item."""
    if metric in frame.columns and frame[metric].dtype.kind in "fiub":
        values = frame[metric].astype(np.float64)
        if "n_relevant" in frame.columns:
            values = values[frame["n_relevant"].to_numpy() > 0]
    else:
        base = metric.split("[", 1)[0]
        column = _RATING.get(base)
        if column is None or column not in frame.columns or "n_rated" not in frame.columns:
            return None
        n = frame["n_rated"].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            per = frame[column].to_numpy(dtype=np.float64) / n
        values = pd.Series(np.sqrt(per) if base == "rmse" else per, index=frame.index)
        values = values[n > 0]
    users = frame.loc[values.index, "user"].to_numpy()
    return pd.Series(values.to_numpy(), index=users).dropna()


def paired_frame(
    per_user: Mapping[str, Sequence[pd.DataFrame]], metric: str, models: Sequence[str]
) -> pd.DataFrame:
    """(fold, user) rows x model columns of ``metric``'s per-user values (NaN: no value)."""
    columns = {}
    for model in models:
        parts = []
        for frame in per_user.get(model, []):
            values = user_values(frame, metric)
            if values is None:
                continue
            fold = int(frame["fold"].iloc[0]) if "fold" in frame.columns and len(frame) else 0
            parts.append(
                pd.Series(
                    values.to_numpy(),
                    index=pd.MultiIndex.from_arrays(
                        [np.full(len(values), fold), values.index], names=["fold", "user"]
                    ),
                )
            )
        if parts:
            columns[model] = pd.concat(parts)
    return pd.DataFrame(columns)


def _pooled(frame: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(numerator, denominator) per user of a rating metric's pooled form, or None."""
    base = metric.split("[", 1)[0]
    column = _RATING.get(base)
    if column is None or column not in frame.columns or "n_rated" not in frame.columns:
        return None
    keep = frame["n_rated"].to_numpy() > 0
    return (
        frame[column].to_numpy(dtype=np.float64)[keep],
        frame["n_rated"].to_numpy(dtype=np.float64)[keep],
    )


def bootstrap_interval(
    frames: Sequence[pd.DataFrame],
    metric: str,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int | Sequence[int] = 0,
) -> tuple[float, float, float, int]:
    """(mean, low, high, n_users) of one model's figure for ``metric`` over its folds'
    per-user frames: a percentile bootstrap over users resampled within each fold."""
    if not 1 <= n_boot <= MAX_BOOT:
        raise ParamError(f"n_boot={n_boot}: expected 1..{MAX_BOOT} bootstrap replicates")
    if not 0.0 < level < 1.0:
        raise ParamError(f"level={level}: expected a confidence level between 0 and 1")
    rng = np.random.default_rng(seed)
    point, reps, n_users = [], [], 0
    for frame in frames:
        pooled = _pooled(frame, metric)
        is_rmse = pooled is not None and metric.split("[", 1)[0] == "rmse"
        if pooled is not None:
            num, den = pooled
            ratio = num.sum() / den.sum() if den.sum() else math.nan
            point.append(math.sqrt(ratio) if is_rmse else ratio)
        else:
            values = user_values(frame, metric)
            if values is None:
                continue
            num = values.to_numpy()
            den = np.ones(len(num))
            point.append(float(num.mean()) if len(num) else math.nan)
        n = len(num)
        n_users += n
        if n == 0:
            reps.append(np.full(n_boot, np.nan))
            continue
        fold_reps = np.empty(n_boot)
        step = max(1, _CHUNK_CELLS // n)
        for lo in range(0, n_boot, step):
            hi = min(n_boot, lo + step)
            idx = rng.integers(0, n, size=(hi - lo, n))
            ratio = num[idx].sum(axis=1) / den[idx].sum(axis=1)
            fold_reps[lo:hi] = np.sqrt(ratio) if is_rmse else ratio
        reps.append(fold_reps)
    if not point:
        return math.nan, math.nan, math.nan, 0
    mean = float(np.mean(point))
    boot = np.mean(reps, axis=0)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha])
    return mean, float(low), float(high), n_users


def intervals(
    per_user: Mapping[str, Sequence[pd.DataFrame]],
    metrics: Sequence[str],
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (metric, model): the mean and its bootstrap interval (seeded: the same
    seed gives the same interval; each (metric, model) draws from its own stream)."""
    rows = []
    for m_index, metric in enumerate(metrics):
        for j, (model, frames) in enumerate(per_user.items()):
            mean, low, high, n = bootstrap_interval(
                frames, metric, n_boot=n_boot, level=level, seed=[seed, m_index, j]
            )
            if n == 0:
                continue
            rows.append(
                {"metric": metric, "model": model, "mean": mean, "ci_low": low, "ci_high": high,
                 "level": level, "n_users": n, "n_boot": n_boot}
            )  # fmt: skip
    return pd.DataFrame(rows, columns=INTERVAL_COLUMNS)


def pairwise(
    per_user: Mapping[str, Sequence[pd.DataFrame]],
    metrics: Sequence[str],
    *,
    higher_is_better: Mapping[str, bool] | None = None,
    fold_means: Mapping[str, pd.DataFrame] | None = None,
    test_train_ratio: float | None = None,
    method: str = "holm",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """One row per (metric, pair of models): the per-user tests, effect size, the fold-level
    corrected test, and p-values adjusted over all pairs of that metric (``method``).

    ``fold_means``: per metric, the fold x model table of fold means (`Results.per_fold`)
    for the fold-level test; ``better`` names the model with the better mean."""
    from workbench.analysis.stats import paired_test

    if method not in ADJUSTMENTS:
        raise ParamError(f"adjustment {method!r} is not one of {', '.join(ADJUSTMENTS)}")
    models = list(per_user)
    rows: list[dict[str, Any]] = []
    for metric in metrics:
        table = paired_frame(per_user, metric, models)
        higher = True if higher_is_better is None else bool(higher_is_better.get(metric, True))
        folds_table = fold_means.get(metric) if fold_means is not None else None
        start = len(rows)
        present = [m for m in models if m in table.columns]
        for i, a in enumerate(present):
            for b in present[i + 1 :]:
                both = table[[a, b]].dropna()
                if both.empty:
                    continue
                diff = both[a].to_numpy() - both[b].to_numpy()
                block = both.index.get_level_values("fold").to_numpy()
                t, p_t, d_z = blocked_t(diff, block)
                z, p_w = blocked_wilcoxon(diff, block)
                p_c = math.nan
                if folds_table is not None and {a, b} <= set(folds_table.columns):
                    ft = folds_table[[a, b]].dropna()
                    p_c = paired_test(
                        ft[a].to_numpy(), ft[b].to_numpy(), test_train_ratio=test_train_ratio
                    )["corrected_pvalue"]
                mean_a, mean_b = float(both[a].mean()), float(both[b].mean())
                better = a if (mean_a >= mean_b) == higher else b
                rows.append(
                    {"metric": metric, "model_a": a, "model_b": b,
                     "n_folds": len(np.unique(block)), "n_users": len(diff),
                     "mean_a": mean_a, "mean_b": mean_b, "mean_diff": mean_a - mean_b,
                     "effect_size": d_z, "t_statistic": t, "t_pvalue": p_t,
                     "wilcoxon_z": z, "wilcoxon_pvalue": p_w, "corrected_pvalue": p_c,
                     "better": better if mean_a != mean_b else None}
                )  # fmt: skip
        group = rows[start:]
        for key in ("t_pvalue", "wilcoxon_pvalue", "corrected_pvalue"):
            adjusted = adjust([r[key] for r in group], method)
            for r, value in zip(group, adjusted, strict=True):
                r[f"{key}_adjusted"] = float(value)
        for r in group:
            p = r["t_pvalue_adjusted"]
            r["significant"] = bool(p == p and p < alpha)
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON-ready records (NaN becomes None)."""
    out = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in out
    ]


#: the statistics settings a run uses unless its metadata's ``statistics`` says otherwise
DEFAULT_SETTINGS: dict[str, Any] = {"adjust": "holm", "n_boot": 1000, "level": 0.95, "alpha": 0.05}


def settings_of(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The statistics settings of a run: defaults updated by ``metadata["statistics"]``."""
    given = metadata.get("statistics") or {}
    out = {**DEFAULT_SETTINGS, **{k: v for k, v in given.items() if k in DEFAULT_SETTINGS}}
    if out["adjust"] not in ADJUSTMENTS:
        raise ParamError(f"adjust={out['adjust']!r}: expected one of {', '.join(ADJUSTMENTS)}")
    return out


def per_user_statistics(
    results: Any, per_user: Mapping[str, Sequence[pd.DataFrame]], **overrides: Any
) -> dict[str, Any]:
    """``{"pairwise": [...], "intervals": [...], "statistics": settings}`` of a run's
    `Results` and per-user frames (by model label, folds in order), JSON-ready."""
    from workbench.analysis.stats import _test_train_ratio

    settings = {**settings_of(results.metadata), **overrides}
    settings = settings_of({"statistics": settings})
    metrics = results.metric_labels
    models = [m for m in results.models if m in per_user]
    ordered = {m: per_user[m] for m in models}
    pairs = pairwise(
        ordered,
        metrics,
        higher_is_better={m: results.higher_is_better(m) for m in metrics},
        fold_means={m: results.per_fold(m) for m in metrics},
        test_train_ratio=_test_train_ratio(results),
        method=settings["adjust"],
        alpha=settings["alpha"],
    )
    seed = int(results.metadata.get("seed") or 0)
    ci = intervals(ordered, metrics, n_boot=settings["n_boot"], level=settings["level"], seed=seed)
    return {"pairwise": records(pairs), "intervals": records(ci), "statistics": settings}
