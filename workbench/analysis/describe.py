"""What a dataset and its splits look like: counts, density, values, activity, cold start.

Plain JSON-able dicts, shared by the Python API (`workbench.api.describe_dataset`,
`~workbench.api.describe_splits`) and ``workbench data info`` / ``data split``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from workbench.data import Interactions
from workbench.splits import Split

#: Quantiles reported for activity (interactions per user/item) and skewed values.
QUANTILES = (("min", 0.0), ("p10", 0.1), ("p25", 0.25), ("median", 0.5), ("p75", 0.75),
             ("p90", 0.9), ("p99", 0.99), ("max", 1.0))  # fmt: skip


def counts_summary(counts: np.ndarray) -> dict[str, float]:
    """Quantiles and mean of per-user (or per-item) interaction counts."""
    counts = counts[counts > 0]
    if len(counts) == 0:
        return {}
    out = {name: float(np.quantile(counts, q)) for name, q in QUANTILES}
    out["mean"] = float(counts.mean())
    return out


def value_summary(data: Interactions) -> dict[str, Any]:
    """Rating histogram (explicit) or weight quantiles (implicit)."""
    values = data.value
    if len(values) == 0:
        return {}
    summary: dict[str, Any] = {
        "mean": float(values.mean(dtype=np.float64)),
        "std": float(values.std(dtype=np.float64)),
    }
    distinct, counts = np.unique(values, return_counts=True)
    if len(distinct) <= 25:
        summary["histogram"] = {f"{v:g}": int(c) for v, c in zip(distinct, counts, strict=True)}
    else:
        lo, hi = float(distinct[0]), float(distinct[-1])
        skewed = lo > 0 and hi / lo > 50  # heavy-tailed counts: log-spaced bins
        edges = np.geomspace(lo, hi, 11) if skewed else np.linspace(lo, hi, 11)
        hist, _ = np.histogram(values, bins=edges)
        summary["histogram"] = {
            f"{a:.4g}..{b:.4g}": int(c) for a, b, c in zip(edges[:-1], edges[1:], hist, strict=True)
        }
        summary["quantiles"] = {n: float(np.quantile(values, q)) for n, q in QUANTILES}
    return summary


def describe(data: Interactions) -> dict[str, Any]:
    """Everything ``data info`` shows, as plain JSON-able values."""
    users, items = data.user_counts(), data.item_counts()
    n_users, n_items = int((users > 0).sum()), int((items > 0).sum())
    info: dict[str, Any] = {
        "name": data.name,
        "kind": data.kind,
        "n_interactions": len(data),
        "n_users": n_users,
        "n_items": n_items,
        "density": len(data) / max(1, n_users * n_items),
        "rating_scale": list(data.rating_scale) if data.rating_scale else None,
        "values": value_summary(data),
        "user_activity": counts_summary(users),
        "item_activity": counts_summary(items),
        "cold": {
            "users_with_1": int((users == 1).sum()),
            "users_under_5": int(((users > 0) & (users < 5)).sum()),
            "items_with_1": int((items == 1).sum()),
            "items_under_5": int(((items > 0) & (items < 5)).sum()),
        },
        "duplicates_merged": int(data.meta.get("duplicates_merged", 0)),
        "duplicate_policy": data.meta.get("duplicate_policy"),
        "string_ids": {"users": data.users.is_string, "items": data.items.is_string},
        "has_titles": data.item_metadata is not None and "title" in data.item_metadata,
    }
    if data.timestamp is not None and len(data):
        lo, hi = int(data.timestamp.min()), int(data.timestamp.max())
        info["time_range"] = {
            "first": np.datetime64(lo, "s").astype(str),
            "last": np.datetime64(hi, "s").astype(str),
        }
    return info


def describe_split(split: Split) -> dict[str, Any]:
    """Sizes of one split, its cold users and items in test, and leaked (train) pairs."""
    row = split.describe()
    row["leaked_pairs"] = split.leaked_pairs()
    row["test_users"] = int(len(np.unique(split.test.user)))
    return row


def describe_splits(splits: Iterable[Split]) -> list[dict[str, Any]]:
    """`describe_split` of every split."""
    return [describe_split(s) for s in splits]
