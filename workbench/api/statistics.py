"""The statistics of a comparison as DataFrames: every pair of models per metric (per-user
tests, effect sizes, adjusted p-values) and each model's bootstrap interval
(`workbench.analysis.pairwise` has the definitions)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from workbench.analysis.pairwise import ADJUSTMENTS, INTERVAL_COLUMNS, PAIR_COLUMNS, adjust
from workbench.errors import DataError, ParamError
from workbench.results import Results

_RAW = ("t_pvalue", "wilcoxon_pvalue", "corrected_pvalue")


def _results(results: Results | str | Path) -> Results:
    if isinstance(results, str | Path):
        from workbench.experiments.compare import load_run

        return load_run(results)
    return results


def pairwise_tests(
    results: Results | str | Path, *, adjust_method: str | None = None, alpha: float = 0.05
) -> pd.DataFrame:
    """One row per (metric, pair of models) of a comparison (`Results` or a run folder kept
    with per-user results); ``adjust_method`` (``holm`` or ``fdr_bh``) re-adjusts the raw
    p-values over each metric's pairs (default: the run's own setting, Holm)."""
    res = _results(results)
    records = res.metadata.get("pairwise")
    if records is None:
        raise DataError(
            "these results have no per-user tests: compare with per_user=True "
            "(CLI: --per-user, the default)"
        )
    frame = pd.DataFrame(records, columns=PAIR_COLUMNS)
    for col in PAIR_COLUMNS:
        if col not in ("metric", "model_a", "model_b", "better", "significant"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
    if adjust_method is not None:
        if adjust_method not in ADJUSTMENTS:
            raise ParamError(
                f"adjust_method={adjust_method!r}: expected one of {', '.join(ADJUSTMENTS)}"
            )
        for key in _RAW:
            for _, idx in frame.groupby("metric", sort=False).groups.items():
                frame.loc[idx, f"{key}_adjusted"] = adjust(frame.loc[idx, key], adjust_method)
        p = frame["t_pvalue_adjusted"]
        frame["significant"] = (p < alpha) & p.notna()
    return frame


def readjust(results: Results, adjust_method: str, *, alpha: float | None = None) -> Results:
    """``results`` with its per-user pairwise p-values adjusted by ``adjust_method`` (``holm``
    or ``fdr_bh``) in the metadata the exporters read (``pairwise``, ``statistics``)."""
    from workbench.analysis.pairwise import records, settings_of

    if adjust_method not in ADJUSTMENTS:
        raise ParamError(f"adjust {adjust_method!r}: expected one of {', '.join(ADJUSTMENTS)}")
    settings = settings_of(results.metadata)
    alpha = settings["alpha"] if alpha is None else alpha
    frame = pairwise_tests(results, adjust_method=adjust_method, alpha=alpha)
    results.metadata["pairwise"] = records(frame)
    results.metadata["statistics"] = {**settings, "adjust": adjust_method, "alpha": alpha}
    return results


def intervals(results: Results | str | Path) -> pd.DataFrame:
    """One row per (metric, model): the mean and its seeded bootstrap interval over users."""
    res = _results(results)
    records = res.metadata.get("intervals")
    if records is None:
        raise DataError(
            "these results have no intervals: compare with per_user=True "
            "(CLI: --per-user, the default)"
        )
    return pd.DataFrame(records, columns=INTERVAL_COLUMNS)


def seed_variance(results: Results | str | Path) -> pd.DataFrame:
    """One row per (metric, model) of a comparison run with ``seeds``: the mean, the fold
    standard deviation and the seed standard deviation (`workbench.analysis.seeds`)."""
    from workbench.analysis.seeds import COLUMNS

    res = _results(results)
    records = res.metadata.get("seed_variance")
    if records is None:
        raise DataError("these results have no seed variance: compare with seeds=N (--seeds N)")
    return pd.DataFrame(records, columns=COLUMNS)
