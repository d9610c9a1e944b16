"""One evaluator for the reference libraries (the workbench's own models use
`workbench.evaluation.evaluate`; `check_agreement` shows both give the same figures).

Same definitions as the workbench: ratings clipped to the scale for RMSE/MAE; for top-10,
every item the user did not rate in train is a candidate, relevant = test rating >= 4, users
with no relevant test item are left out, ties go to the lower item index.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from workbench.data import Interactions

K = 10
METRICS = ["rmse", "mae", f"precision@{K}", f"recall@{K}", f"ndcg@{K}", f"hitrate@{K}"]
RANKING = METRICS[2:]


def rating_metrics(pred: np.ndarray, test: Interactions) -> dict[str, float]:
    lo, hi = test.rating_scale or (-np.inf, np.inf)
    err = np.clip(np.asarray(pred, dtype=np.float64), lo, hi) - test.value
    return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}


def ranking_metrics(
    scores: Callable[[np.ndarray], np.ndarray],
    train: Interactions,
    test: Interactions,
    threshold: float = 4.0,
    batch: int = 512,
) -> dict[str, float]:
    relevant = test.value >= threshold
    rel = test.subset(relevant).csr()
    users = np.flatnonzero(np.diff(rel.indptr) > 0)
    seen = train.csr()
    disc = 1.0 / np.log2(np.arange(2, K + 2))
    sums = dict.fromkeys(RANKING, 0.0)
    for start in range(0, len(users), batch):
        ub = users[start : start + batch]
        s = np.asarray(scores(ub), dtype=np.float64)
        rows = seen[ub]
        s[np.repeat(np.arange(len(ub)), np.diff(rows.indptr)), rows.indices] = -np.inf
        top = np.argsort(-s, axis=1, kind="stable")[:, :K]
        truth = rel[ub]
        hits = np.asarray(truth[np.arange(len(ub))[:, None], top].todense()) > 0
        n_rel = np.diff(truth.indptr)
        ideal = (np.arange(K)[None, :] < n_rel[:, None]) @ disc
        sums[f"precision@{K}"] += float((hits.sum(1) / K).sum())
        sums[f"recall@{K}"] += float((hits.sum(1) / n_rel).sum())
        sums[f"ndcg@{K}"] += float(((hits @ disc) / ideal).sum())
        sums[f"hitrate@{K}"] += float(hits.any(1).sum())
    return {m: v / len(users) for m, v in sums.items()}
