"""Every built-in model (and the example plugin's) on the fixed ML-100k anchor folds.

``../shared/data/ml-100k/anchor_folds.npy`` holds the fold of each line of ``u.data``: the split
every figure in the team's ANCHORS.md was measured on. This prints (and writes as JSON) the
5-fold mean RMSE and nDCG@10 (relevant = rating >= 4, all unseen items ranked) of each model,
so refactors can show seeded results unchanged and new models sit next to the anchors::

    .venv/bin/python -m benchmarks.anchor_folds [--json out.json] [--model SPEC ...]
        [--metric M ...] [--relevance-threshold 4] [--negatives N]

Ranking models (``ials``, ``nmf``) get NaN for RMSE: they do not predict ratings.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import Interactions
from workbench.evaluation import evaluate
from workbench.experiments.resolve import resolve_metrics, resolve_models
from workbench.protocol import EvaluationProtocol
from workbench.splits import Split

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = [
    "global-mean", "biases", "popularity", "sgd", "svdpp",
    "kernel-mf kernel=linear", "kernel-mf kernel=sigmoid", "kernel-mf kernel=rbf", "item-knn",
]


def data_dir() -> Path:
    return Path(os.environ.get("WORKBENCH_DATA_DIR", ROOT.parent / "shared" / "data"))


def anchor_data(*, attributes: bool = False) -> tuple[Interactions, np.ndarray]:
    """MovieLens-100k ``u.data`` in file order and the anchor fold of each line; with
    ``attributes`` the movielens dataset's user and item attributes are attached."""
    root = data_dir() / "ml-100k"
    frame = pd.read_csv(root / "u.data", sep="\t", names=["user", "item", "rating", "ts"])
    folds = np.load(root / "anchor_folds.npy", allow_pickle=False)
    data = Interactions.from_pandas(
        frame, user="user", item="item", value="rating", timestamp="ts",
        kind="explicit", rating_scale=(1, 5), name="ml-100k",
    )
    if attributes:
        from workbench_datasets.movielens import MovieLens

        full = MovieLens(path=str(root)).load()
        data = data.with_attributes(users=full.user_attributes, items=full.item_attributes)
    return data, folds


def anchor_splits(*, attributes: bool = False) -> list[Split]:
    """The five anchor folds of MovieLens-100k as workbench splits (shared id maps)."""
    data, folds = anchor_data(attributes=attributes)
    return [
        Split(train=data.subset(folds != f), test=data.subset(folds == f), fold=int(f))
        for f in np.unique(folds)
    ]


def run(
    models: list[str], metrics: list[str], protocol: EvaluationProtocol | None = None
) -> dict[str, dict[str, float]]:
    splits = anchor_splits()
    metric_objs = resolve_metrics(metrics, splits[0].train)
    out: dict[str, dict[str, float]] = {}
    for spec in models:
        model = resolve_models([spec])[0].model
        per_fold: dict[str, list[float]] = {m: [] for m in metrics}
        started = time.perf_counter()
        for split in splits:
            model.fit(split.train)
            result = evaluate(model, split, metric_objs, protocol or EvaluationProtocol())
            for m in metrics:
                per_fold[m].append(result.scores.get(m, float("nan")))
        out[spec] = {m: float(np.mean(v)) for m, v in per_fold.items()}
        out[spec]["seconds"] = time.perf_counter() - started
        print(f"{spec:32s} " + "  ".join(f"{m} {out[spec][m]:.6f}" for m in metrics), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="model spec (repeatable)")
    parser.add_argument("--metric", action="append", help="metric (default rmse, ndcg@10)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--relevance-threshold", type=float, help="relevant test ratings (default: 4)"
    )
    parser.add_argument(
        "--negatives", type=int, help="rank among N sampled negatives (default: all items)"
    )
    args = parser.parse_args()
    protocol = EvaluationProtocol(
        relevance_threshold=args.relevance_threshold, negatives=args.negatives
    )
    results = run(args.model or DEFAULT_MODELS, args.metric or ["rmse", "ndcg@10"], protocol)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
