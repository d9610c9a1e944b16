"""Ranking evaluation at MovieLens-1M size: 6,040 users x 3,706 items, ~1M ratings.

A random biased factor model (64 factors) is evaluated on a 80/20 holdout with every
ranking and list metric at k=10 (AUC too, which reads the full score rows), ranking all
items each user did not rate in train. Run::

    .venv/bin/python -m benchmarks.bench_evaluation [--repeat 3] [--no-auc] [--json]

The figure is recorded in docs/metrics.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any

import numpy as np

from workbench.data import IdMap, Interactions
from workbench.evaluation import evaluate
from workbench.factor.embedding import FactorModel
from workbench.protocol import EvaluationProtocol
from workbench.splits import Split

N_USERS, N_ITEMS, N_RATINGS, N_FACTORS = 6040, 3706, 1_000_209, 64


class RandomFactors(FactorModel):
    """Biased dot-product model with random parameters (benchmark fixture)."""

    name = "random-factors"
    #: Factors of the random parameters.
    width = N_FACTORS

    def _fit(self, train: Interactions, *, callback: Any, validation: Any) -> None:
        rng = np.random.default_rng(0)
        self.global_mean_ = float(train.value.mean())
        self.user_factors_ = rng.normal(0, 0.1, (train.n_users, self.width)).astype(np.float32)
        self.item_factors_ = rng.normal(0, 0.1, (train.n_items, self.width)).astype(np.float32)
        self.user_bias_ = rng.normal(0, 0.1, train.n_users).astype(np.float32)
        self.item_bias_ = rng.normal(0, 0.3, train.n_items).astype(np.float32)


def synthetic_split(seed: int = 0) -> Split:
    """~1M ratings with a skewed (Zipf-like) item popularity, 20% held out at random."""
    rng = np.random.default_rng(seed)
    per_user = rng.lognormal(np.log(100), 0.9, N_USERS)
    per_user = np.clip(per_user * N_RATINGS / per_user.sum(), 20, N_ITEMS // 2).astype(int)
    pop = 1.0 / np.arange(1, N_ITEMS + 1) ** 0.8
    pop /= pop.sum()
    users, items = [], []
    for u, n in enumerate(per_user):
        chosen = rng.choice(N_ITEMS, size=n, replace=False, p=pop)
        users.append(np.full(n, u))
        items.append(chosen)
    u = np.concatenate(users).astype(np.int32)
    i = np.concatenate(items).astype(np.int32)
    v = rng.integers(1, 6, len(u)).astype(np.float32)
    data = Interactions(
        u,
        i,
        v,
        users=IdMap(np.arange(N_USERS)),
        items=IdMap(np.arange(N_ITEMS)),
        rating_scale=(1, 5),
        name="synthetic-ml1m",
    )
    test = rng.random(len(data)) < 0.2
    return Split(data.subset(~test), data.subset(test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-auc", action="store_true", help="leave AUC out")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from workbench_metrics import beyond, ranking

    split = synthetic_split()
    model = RandomFactors().fit(split.train)
    metrics = [
        ranking.Precision(k=10),
        ranking.Recall(k=10),
        ranking.NDCG(k=10),
        ranking.MAP(k=10),
        ranking.MRR(k=10),
        ranking.HitRate(k=10),
        beyond.Coverage(k=10),
        beyond.Novelty(k=10),
        beyond.Popularity(k=10),
        beyond.Diversity(k=10),
        beyond.Personalisation(k=10),
    ]
    if not args.no_auc:
        metrics.append(ranking.AUC())
    times, rank_times = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        ev = evaluate(model, split, metrics, EvaluationProtocol())
        times.append(time.perf_counter() - started)
        rank_times.append(ev.diagnostics["rank_seconds"])
    result = {
        "users": int(ev.diagnostics["n_test_users"]),
        "items": N_ITEMS,
        "train_ratings": len(split.train),
        "test_ratings": len(split.test),
        "metrics": len(metrics),
        "seconds_median": float(np.median(times)),
        "seconds_all": [round(t, 3) for t in times],
        "model_scoring_seconds_median": float(np.median(rank_times)),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scores": {k: round(v, 4) for k, v in ev.scores.items()},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"ranking evaluation of {result['users']} users x {N_ITEMS} items "
        f"({len(metrics)} metrics): median {result['seconds_median']:.2f} s "
        f"(model scoring {result['model_scoring_seconds_median']:.2f} s) "
        f"over {args.repeat} runs {result['seconds_all']}"
    )


if __name__ == "__main__":
    main()
