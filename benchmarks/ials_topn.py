"""`ials` on top-N: nDCG@10 on the ML-100k anchor folds (5-fold mean, relevant = rating >= 4,
every unseen item ranked) and on Last.fm play counts (``hetrec2011-lastfm-2k``, one seeded
80/20 ``holdout ratio=0.2`` split, every held-out artist relevant, every unseen artist
ranked: the protocol of docs/models.md's Last.fm section).

::

    .venv/bin/python -m benchmarks.ials_topn [--model SPEC ...] [--only ml100k|lastfm]
        [--json out.json] [--timing ROUNDS]

``--timing N``: fit time only, the specs alternated (A B A B ...) N rounds on anchor fold 0's
training part (a warm-up fit each first), medians and the median ratio to the first spec.

Default specs: the defaults, the defaults before issue 23
(``reg=0.1 reg_exponent=0 init_std=0.01 n_factors=64 n_iterations=15``), and ``implicit``'s
tuned setting in our terms (32 factors, reg 10, alpha 1, 15 iterations).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.anchor_folds import anchor_splits, data_dir
from workbench.evaluation import evaluate
from workbench.experiments.resolve import resolve_metrics, resolve_models
from workbench.protocol import EvaluationProtocol

OLD_DEFAULTS = "ials n_factors=64 n_iterations=15 reg=0.1 reg_exponent=0 init_std=0.01"
DEFAULT_SPECS = ["ials", OLD_DEFAULTS, "ials n_factors=32 reg=10 reg_exponent=0 init_std=0.01"]


def lastfm_split():
    """The seeded 80/20 holdout of Last.fm play counts (the workbench's splitter)."""
    from workbench.api import load_dataset, split

    data = load_dataset({"name": "lastfm", "path": str(data_dir() / "hetrec2011-lastfm-2k")})
    return split(data, "holdout ratio=0.2")[0]


def score(spec: str, splits: list, protocol: EvaluationProtocol) -> tuple[list[float], float]:
    metrics = resolve_metrics(["ndcg@10"], splits[0].train)
    model = resolve_models([spec])[0].model
    started = time.perf_counter()
    folds = []
    for s in splits:
        model.fit(s.train)
        folds.append(float(evaluate(model, s, metrics, protocol).scores["ndcg@10"]))
    return folds, time.perf_counter() - started


def timing(specs: list[str], rounds: int) -> dict:
    """Alternated fits on anchor fold 0's training part: seconds per spec and round."""
    train = anchor_splits()[0].train
    models = [resolve_models([spec])[0].model for spec in specs]
    for model in models:  # warm-up: numba compilation / cache load
        model.fit(train)
    seconds: dict[str, list[float]] = {spec: [] for spec in specs}
    for _ in range(rounds):
        for spec, model in zip(specs, models, strict=True):
            started = time.perf_counter()
            model.fit(train)
            seconds[spec].append(time.perf_counter() - started)
    first = np.array(seconds[specs[0]])
    for spec in specs:
        ratio = float(np.median(np.array(seconds[spec]) / first))
        print(f"{spec:60s} median {np.median(seconds[spec]):.3f} s  ratio {ratio:.2f}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="ials spec (repeatable)")
    parser.add_argument("--only", choices=["ml100k", "lastfm"])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--timing", type=int, metavar="ROUNDS", help="alternated fit times")
    args = parser.parse_args()
    specs = args.model or DEFAULT_SPECS
    out: dict = {"load": " ".join(f"{x:.2f}" for x in os.getloadavg()), "rows": {}}
    if args.timing:
        out["timing"] = timing(specs, args.timing)
        out["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load average before {out['load']}, after {out['load_after']}")
        if args.json:
            args.json.write_text(json.dumps(out, indent=1))
        return
    datasets = {
        "ml100k": (anchor_splits, EvaluationProtocol()),
        "lastfm": (lambda: [lastfm_split()], EvaluationProtocol()),
    }
    for name, (make, protocol) in datasets.items():
        if args.only and name != args.only:
            continue
        splits = make()
        for spec in specs:
            folds, seconds = score(spec, splits, protocol)
            out["rows"][f"{name} | {spec}"] = {"ndcg@10": folds, "seconds": seconds}
            print(
                f"{name:7s} {spec:60s} nDCG@10 {np.mean(folds):.4f} "
                f"{[round(f, 4) for f in folds]} {seconds:.1f}s",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
