"""Time-aware and side-information models on ML-100k (issue 15), for docs/benchmarks.md.

1. The five anchor folds: RMSE and fit time per fold of ``svdpp`` and the new models, and a
   paired test (workbench.analysis.stats.paired_test, Nadeau-Bengio corrected t-test) of each
   against ``svdpp``. Models run A B A B fold by fold (the machine is shared: fit-time ratios are
   medians over folds).
2. A new-users split (``new-users``, 20% of users held out, ``history_n`` ratings each as
   fold-in history): the same model with and without side information (RMSE, nDCG@10);
   and a cold split (``history_fraction=0.01``: most held-out users have no history at all)
   that reports the RMSE of cold pairs (``rmse_cold``)::

    .venv/bin/python -m benchmarks.bench_temporal [--part anchors|new-users|all] [--json F]
                                                  [--model SPEC ...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.anchor_folds import anchor_data, anchor_splits
from workbench.analysis.stats import paired_test
from workbench.evaluation import evaluate
from workbench.experiments.resolve import resolve_metrics, resolve_models
from workbench.protocol import EvaluationProtocol

ANCHOR_MODELS = ["svdpp", "timesvdpp", "timebiases", "svdpp-attr", "timesvdpp attributes=true"]
NEW_USER_PAIRS = [
    ("svdpp-attr attributes=false", "svdpp-attr"),
    ("timesvdpp", "timesvdpp attributes=true"),
]


def anchors(models: list[str]) -> dict[str, dict[str, list[float]]]:
    splits = anchor_splits(attributes=True)
    metrics = resolve_metrics(["rmse", "ndcg@10"], splits[0].train)
    out = {m: {"rmse": [], "ndcg@10": [], "fit_s": []} for m in models}
    for split in splits:
        for spec in models:  # A B A B: every model on this fold before the next fold
            model = resolve_models([spec])[0].model
            started = time.perf_counter()
            model.fit(split.train)
            out[spec]["fit_s"].append(time.perf_counter() - started)
            scores = evaluate(model, split, metrics, EvaluationProtocol()).scores
            out[spec]["rmse"].append(scores["rmse"])
            out[spec]["ndcg@10"].append(scores["ndcg@10"])
        print(f"fold {split.fold}: " + "  ".join(
            f"{s} {out[s]['rmse'][-1]:.4f}" for s in models), flush=True)
    base = out[models[0]]
    ratio = 0.25  # test/train size of 5-fold CV (Nadeau-Bengio correction)
    for spec in models:
        r = out[spec]
        test = paired_test(np.array(r["rmse"]), np.array(base["rmse"]), test_train_ratio=ratio)
        fit_ratio = np.median(np.array(r["fit_s"]) / np.array(base["fit_s"]))
        r["summary"] = {  # type: ignore[assignment]
            "rmse": float(np.mean(r["rmse"])), "ndcg@10": float(np.mean(r["ndcg@10"])),
            "fit_s": float(np.mean(r["fit_s"])), "fit_ratio_vs_first": float(fit_ratio),
            "rmse_diff_vs_first": float(np.mean(r["rmse"]) - np.mean(base["rmse"])),
            "corrected_p": test["corrected_pvalue"], "t_p": test["t_pvalue"],
        }
        print(f"{spec:40s} " + " ".join(f"{k} {v:.4g}" for k, v in r["summary"].items()))
    return out


def new_users(pairs: list[tuple[str, str]], seeds: list[int]) -> dict[str, dict[str, float]]:
    from workbench_splitters.new_users import NewUsers

    data, _ = anchor_data(attributes=True)
    metrics = resolve_metrics(["rmse", "ndcg@10"], data)
    out: dict[str, dict[str, float]] = {}
    settings = {"history_n=5": {"history_n": 5}, "cold": {"history_fraction": 0.01}}
    for label, extra in settings.items():
        for seed in seeds:
            split = next(iter(NewUsers(user_fraction=0.2, seed=seed, **extra).split(data)))
            for without, with_ in pairs:
                for spec in (without, with_):
                    model = resolve_models([spec])[0].model.fit(split.train)
                    res = evaluate(model, split, metrics, EvaluationProtocol())
                    row = out.setdefault(f"{label} | {spec}", {})
                    for key, value in {**res.scores, **{
                        k: v for k, v in res.diagnostics.items()
                        if k in ("rmse_cold", "rmse_warm", "cold_pairs", "folded_users")
                    }}.items():
                        row.setdefault(key, []).append(float(value))  # type: ignore[attr-defined]
    for key, row in out.items():
        means = {k: float(np.mean(v)) for k, v in row.items()}  # type: ignore[arg-type]
        print(f"{key:50s} " + " ".join(f"{k} {v:.4f}" for k, v in means.items()), flush=True)
        row["mean"] = means  # type: ignore[assignment]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="all", choices=["anchors", "new-users", "all"])
    parser.add_argument("--model", action="append", help="anchor model spec (first = baseline)")
    parser.add_argument("--seeds", type=int, default=3, help="new-users splits (seeds 0..n-1)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result: dict[str, object] = {}
    if args.part in ("anchors", "all"):
        result["anchors"] = anchors(args.model or ANCHOR_MODELS)
    if args.part in ("new-users", "all"):
        result["new_users"] = new_users(NEW_USER_PAIRS, list(range(args.seeds)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
