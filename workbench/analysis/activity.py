"""Performance by user activity: "with how few ratings can we recommend well?"

`activity_buckets` groups the per-user results of `workbench.evaluation.evaluate(...,
per_user=True)` by how many interactions each user has in train (for new users: in their
fold-in history) and reports, per bucket and model, the mean of every ranking metric, the
rating error pooled over the bucket's test pairs, the share of test pairs that fell back to
the cold-start fallback, and the catalogue coverage of the bucket's recommendation lists.
`plot_activity` draws that table; the HTML report embeds both (from
``Results.metadata["activity"]``, see `activity_records`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import DataError

#: Lower edges of the default buckets: 0, 1-4, 5-9, 10-19, 20-49, 50-99, 100-199, 200-499, 500+.
DEFAULT_BINS: tuple[int, ...] = (0, 1, 5, 10, 20, 50, 100, 200, 500)

#: Per-user columns that are not metric values.
INFO_COLUMNS = frozenset(
    {
        "model",
        "fold",
        "user",
        "user_id",
        "n_train",
        "folded",
        "n_test",
        "cold_pairs",
        "n_rated",
        "sq_error",
        "abs_error",
        "n_relevant",
        "n_candidates",
        "top",
    }
)

Frames = pd.DataFrame | Sequence[pd.DataFrame] | Mapping[str, Any]


def bucket_labels(bins: Sequence[int]) -> list[str]:
    """Human labels of buckets with these lower edges: ``["0", "1-4", ..., "500+"]``."""
    labels = []
    for lo, hi in zip(bins, [*bins[1:], math.inf], strict=True):
        if hi == math.inf:
            labels.append(f"{lo}+")
        elif hi - lo == 1:
            labels.append(str(lo))
        else:
            labels.append(f"{lo}-{int(hi) - 1}")
    return labels


def _collect(frames: Frames) -> tuple[pd.DataFrame, int | None]:
    """One long frame with ``model`` and ``fold`` columns, plus the catalogue size."""
    parts: list[pd.DataFrame] = []
    n_items: int | None = None

    def add(frame: pd.DataFrame, model: str | None, fold: int) -> None:
        nonlocal n_items
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"activity analysis: expected per-user DataFrames, got {type(frame)}")
        n_items = frame.attrs.get("n_items", n_items)
        frame = frame.copy()
        if "model" not in frame.columns:
            frame["model"] = model or "model"
        if "fold" not in frame.columns:
            frame["fold"] = fold
        parts.append(frame)

    if isinstance(frames, pd.DataFrame):
        add(frames, None, 0)
    elif isinstance(frames, Mapping):
        for model, value in frames.items():
            seq = [value] if isinstance(value, pd.DataFrame) else list(value)
            for fold, frame in enumerate(seq):
                add(frame, str(model), fold)
    else:
        for fold, frame in enumerate(frames):
            add(frame, None, fold)
    if not parts:
        raise DataError("activity analysis: no per-user results (evaluate with per_user=True)")
    long = pd.concat(parts, ignore_index=True)
    if "n_train" not in long.columns:
        raise DataError("activity analysis: per-user results have no 'n_train' column")
    return long, n_items


def activity_buckets(
    per_user_frames: Frames,
    bins: Sequence[int] = DEFAULT_BINS,
    *,
    n_items: int | None = None,
    k: int | None = None,
) -> pd.DataFrame:
    """Performance and coverage by number of train interactions (one row per model, bucket).

    ``per_user_frames``: one per-user DataFrame, a list of them (folds), or a mapping model
    -> frame(s); frames may carry ``model``/``fold`` columns themselves. ``bins``: increasing
    lower edges of the buckets (the last is open-ended). ``n_items``: catalogue size for the
    coverage column (read from the frames' ``attrs`` when not given); ``k``: list length for
    coverage (default: the whole stored list).

    Columns: model, bucket, min_train, max_train (None for the open bucket), users and
    ranked_users (per fold, averaged over folds), the mean of each ranking metric over the
    bucket's users with relevant items, rmse/mae pooled over the bucket's test pairs,
    fallback_share (test pairs that fell back / test pairs) and catalog_coverage (distinct
    items in the bucket's lists / catalogue, averaged over folds).
    """
    edges = [int(b) for b in bins]
    if not edges or any(nxt <= prev for prev, nxt in zip(edges, edges[1:], strict=False)):
        raise DataError(f"activity analysis: bins must be increasing integers, got {list(bins)}")
    long, found_items = _collect(per_user_frames)
    n_items = n_items or found_items
    labels = bucket_labels(edges)
    which = np.searchsorted(np.asarray(edges), long["n_train"].to_numpy(), side="right") - 1
    long = long[which >= 0].assign(_bucket=which[which >= 0])
    metric_cols = [
        c
        for c in long.columns
        if c not in INFO_COLUMNS and c != "_bucket" and pd.api.types.is_numeric_dtype(long[c])
    ]
    rows = []
    for (model, b), group in long.groupby(["model", "_bucket"], sort=False):
        n_folds = max(group["fold"].nunique(), 1)
        row: dict[str, Any] = {
            "model": model,
            "bucket": labels[b],
            "min_train": edges[b],
            "max_train": edges[b + 1] - 1 if b + 1 < len(edges) else None,
            "users": len(group) / n_folds,
        }
        if "n_relevant" in group.columns:
            row["ranked_users"] = float((group["n_relevant"] > 0).sum()) / n_folds
        for col in metric_cols:
            values = group[col].to_numpy(dtype=np.float64)
            values = values[~np.isnan(values)]
            row[col] = float(values.mean()) if len(values) else float("nan")
        if {"n_rated", "sq_error", "abs_error"} <= set(group.columns):
            n_rated = float(group["n_rated"].sum())
            row["rmse"] = math.sqrt(group["sq_error"].sum() / n_rated) if n_rated else math.nan
            row["mae"] = group["abs_error"].sum() / n_rated if n_rated else math.nan
        if {"cold_pairs", "n_test"} <= set(group.columns):
            total = float(group["n_test"].sum())
            row["fallback_share"] = group["cold_pairs"].sum() / total if total else math.nan
        if n_items and "top" in group.columns:
            covers = []
            for _, fold_group in group.groupby("fold"):
                lists = [np.asarray(t)[:k] for t in fold_group["top"]]
                items = np.concatenate(lists) if lists else np.empty(0, np.int64)
                covers.append(len(np.unique(items[items >= 0])) / n_items)
            row["catalog_coverage"] = float(np.mean(covers))
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    order = {m: i for i, m in enumerate(dict.fromkeys(long["model"]))}
    table = table.sort_values(
        ["model", "min_train"], key=lambda s: s.map(order) if s.name == "model" else s
    )
    return table.reset_index(drop=True)


def activity_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The table as JSON-safe records (NaN -> None) for ``Results.metadata["activity"]``."""
    records = []
    for rec in table.to_dict(orient="records"):
        clean = {}
        for key, value in rec.items():
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            clean[str(key)] = value
        records.append(clean)
    return records


#: Columns of the activity table that are not values to plot.
_NOT_PLOTTED = {"model", "bucket", "min_train", "max_train", "users", "ranked_users"}


def default_panels(frame: pd.DataFrame, max_ranking: int = 4) -> list[str]:
    """Columns plotted by default: a few ranking metrics, rmse, coverage, fallbacks."""
    values = [c for c in frame.columns if c not in _NOT_PLOTTED]
    ranking = [c for c in values if "@" in c or c == "auc"][:max_ranking]
    out = ranking + [c for c in ("rmse", "catalog_coverage") if c in values]
    if "fallback_share" in values and (frame["fallback_share"].fillna(0) > 0).any():
        out.append("fallback_share")
    return out or values


def plot_activity(table: pd.DataFrame | Sequence[Mapping[str, Any]], metrics: Sequence[str] = ()):
    """A matplotlib Figure: users per bucket, then one panel per metric (a line per model)."""
    from matplotlib.figure import Figure

    frame = pd.DataFrame(list(table)) if not isinstance(table, pd.DataFrame) else table
    if frame.empty:
        raise DataError("activity analysis: the table is empty")
    shown = [c for c in (metrics or default_panels(frame)) if c in frame.columns]
    shown = [c for c in shown if frame[c].notna().any()]
    buckets = list(dict.fromkeys(frame.sort_values("min_train")["bucket"]))
    x = np.arange(len(buckets))
    panels = 1 + len(shown)
    cols = min(panels, 3)
    rows = math.ceil(panels / cols)
    fig = Figure(figsize=(4.2 * cols, 3.0 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    models = list(dict.fromkeys(frame["model"]))
    width = 0.8 / max(len(models), 1)
    ax = axes[0]
    for j, model in enumerate(models):
        sub = frame[frame["model"] == model].set_index("bucket").reindex(buckets)
        ax.bar(x + (j - (len(models) - 1) / 2) * width, sub["users"].fillna(0), width, label=model)
    ax.set_title("test users per bucket")
    ax.set_ylabel("users")
    for i, col in enumerate(shown, start=1):
        ax = axes[i]
        for model in models:
            sub = frame[frame["model"] == model].set_index("bucket").reindex(buckets)
            ax.plot(x, sub[col].astype(float), marker="o", label=model)
        ax.set_title(col)
        ax.grid(alpha=0.3)
    for i, ax in enumerate(axes):
        if i > len(shown):
            ax.set_visible(False)
            continue
        ax.set_xticks(x, buckets, rotation=45, ha="right", fontsize=8)
        if i + cols > len(shown):  # bottom panel of its column
            ax.set_xlabel("train interactions of the user")
    if len(models) > 1 or models != ["model"]:
        axes[0].legend(fontsize=8)
    return fig
