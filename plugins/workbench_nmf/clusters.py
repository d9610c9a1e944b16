"""Latent structure of a zero-filled NMF: user clusters and each component's top items.

A user's cluster is the component with the largest weight in their row of W (argmax); users
whose row is all zero (cold) belong to no cluster. A component's top items are the largest
entries of its row of H.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import DataError, ParamError


@dataclass
class NMFClusters:
    """``assignments``: one row per user (user, user_id, cluster, weight; cluster -1: none);
    ``components``: one row per (component, rank) with the item, its title and weight, and
    the component's cluster size."""

    assignments: pd.DataFrame
    components: pd.DataFrame
    #: component -> why no user is in its cluster (only the empty components)
    empty: dict[int, str] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per component: its users and its top items (titles where known)."""
        rows = []
        for comp, group in self.components.groupby("component", sort=True):
            names = [
                str(t) if isinstance(t, str) and t else str(i)
                for t, i in zip(group["title"], group["item_id"], strict=True)
            ]
            rows.append(
                {"component": int(comp), "users": int(group["size"].iloc[0]),
                 "top items": "; ".join(names)}
            )  # fmt: skip
        return pd.DataFrame(rows, columns=["component", "users", "top items"])

    def sizes(self) -> pd.Series:
        """Users per cluster (every component listed, 0 where empty)."""
        n = int(self.components["component"].max()) + 1 if len(self.components) else 0
        counts = np.bincount(
            self.assignments["cluster"][self.assignments["cluster"] >= 0], minlength=n
        )
        return pd.Series(counts, index=pd.RangeIndex(n, name="component"), name="users")


def nmf_clusters(model: Any, top_n: int = 10) -> NMFClusters:
    """Clusters and top items of a fitted zero-filled NMF (its `clusters` method); any other
    model is refused."""
    if not callable(getattr(type(model), "clusters", None)):
        owner = model.owner() if hasattr(model, "owner") else repr(model)
        raise DataError(f"clusters need a zero-filled 'nmf' model, got {owner}")
    return model.clusters(top_n=top_n)


def clusters_of(model: Any, top_n: int) -> NMFClusters:
    """User clusters (argmax of W) and each component's top items of a fitted model with
    non-negative ``user_factors_`` (W) and ``item_factors_`` (H transposed)."""
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise ParamError(f"top_n must be an integer >= 1, got {top_n!r}")
    W, H = model.user_factors_, model.item_factors_.T
    cluster = np.argmax(W, axis=1).astype(np.int64)
    weight = W[np.arange(len(W)), cluster]
    cluster[weight <= 0] = -1
    assignments = pd.DataFrame(
        {
            "user": np.arange(len(W)),
            "user_id": model.users_.id_of(np.arange(len(W))),
            "cluster": cluster,
            "weight": weight.astype(np.float64),
        }
    )
    sizes = np.bincount(cluster[cluster >= 0], minlength=H.shape[0])
    k = min(top_n, H.shape[1])
    top = np.argsort(-H, axis=1, kind="stable")[:, :k]
    comp = np.repeat(np.arange(H.shape[0]), k)
    items = top.ravel()
    titles = model.item_titles_[items] if model.item_titles_ is not None else [""] * len(items)
    components = pd.DataFrame(
        {
            "component": comp,
            "size": sizes[comp],
            "rank": np.tile(np.arange(1, k + 1), H.shape[0]),
            "item": items,
            "item_id": model.items_.id_of(items),
            "title": titles,
            "weight": H[comp, items].astype(np.float64),
        }
    )
    return NMFClusters(assignments, components, why_empty(W, sizes))


def why_empty(W: np.ndarray, sizes: np.ndarray) -> dict[int, str]:
    """For each component no user has as their largest weight: why its cluster is empty."""
    totals = W.sum(axis=1)
    reasons = {}
    for comp in np.flatnonzero(sizes == 0):
        col = W[:, comp]
        users = int((col > 0).sum())
        if not users:
            reasons[int(comp)] = "every user's weight on it is 0: the factorization left it unused"
            continue
        share = float(np.max(np.divide(col, totals, out=np.zeros_like(col), where=totals > 0)))
        reasons[int(comp)] = (
            f"it is no user's largest weight: {users:,} users have some of it, at most "
            f"{share:.0%} of a user's total (users are clustered by their largest component)"
        )
    return reasons
