"""`workbench tune` on the ML-100k anchor folds, plainly and nested.

The anchor folds (``../shared/data/ml-100k/anchor_folds.npy``) are where ANCHORS.md's figures
were measured, so a "tuned" figure next to them needs a stated protocol:

- ``plain``: the search's cross-validation folds ARE the five anchor folds, and the best
  candidate's mean over them is reported. This is what a "tuned on these folds" table shows
  (the selection saw the test folds): optimistic by the selection.
- ``nested``: for each anchor fold, the same search runs inside its training part (inner
  ``--inner`` folds, default 3-fold CV), and the winner, refitted on the whole training part,
  is scored on the anchor test fold it never saw. The mean over the five is the honest
  estimate of "tune, then train" (`workbench.search.nested.nested_tune`).

::

    .venv/bin/python -m benchmarks.tune_anchor --model "als" -p reg=0.05:1:log \\
        -p reg_exponent=0.5:1 --metric rmse --n-iter 40 [--nested] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from benchmarks.anchor_folds import anchor_splits
from workbench.search.nested import nested_tune
from workbench.search.tuning import tune


def plain(model: str, space: list[str], metric: str, n_iter: int, seed: int,
          run_dir: Path | None) -> dict[str, Any]:  # fmt: skip
    """The search with the anchor folds as its cross-validation folds."""
    splits = anchor_splits()
    started = time.perf_counter()
    result = tune(
        splits[0].train, splits, model, space, metric, search="tpe", n_iter=n_iter, seed=seed,
        run_dir=run_dir,
    )  # fmt: skip
    ranking = result.ranking
    complete = ranking[ranking["complete"]] if "complete" in ranking else ranking
    return {
        "protocol": "plain: the anchor folds are the search's folds (optimistic)",
        "best_params": result.best_params,
        "best": result.best_score,
        "candidates": len(ranking),
        "complete": len(complete),
        "seconds": time.perf_counter() - started,
    }


def nested(model: str, space: list[str], metric: str, n_iter: int, seed: int, inner: str,
           run_dir: Path | None) -> dict[str, Any]:  # fmt: skip
    """The search inside each anchor training fold; the winner scored on its test fold."""
    splits = anchor_splits()
    started = time.perf_counter()
    result = nested_tune(
        splits[0].train, inner, model, space, metric, outer=splits, search="tpe",
        n_iter=n_iter, seed=seed, run_dir=run_dir,
    )  # fmt: skip
    return {
        "protocol": f"nested: search with {inner} inside each anchor training fold, the "
        "winner scored on the anchor test fold (honest)",
        "outer": result.outer_score,
        "inner_best": result.inner_score,
        "folds": result.folds.to_dict(orient="records"),
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model spec, fixed parameters included")
    parser.add_argument("-p", "--space", action="append", required=True, help="name=range")
    parser.add_argument("--metric", default="rmse")
    parser.add_argument("--n-iter", type=int, default=40, help="TPE candidates per search")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nested", action="store_true", help="also the nested estimate")
    parser.add_argument("--skip-plain", action="store_true", help="only the nested estimate")
    parser.add_argument("--inner", default="kfold n_folds=3", help="the nested inner split")
    parser.add_argument("--run-dir", type=Path, help="keep (and resume) the run folders here")
    parser.add_argument("--json", type=Path, help="write the outcome here")
    args = parser.parse_args()
    sub = (lambda name: args.run_dir / name) if args.run_dir else (lambda name: None)
    out: dict[str, Any] = {"model": args.model, "space": args.space, "metric": args.metric,
                           "n_iter": args.n_iter, "seed": args.seed}  # fmt: skip
    if not args.skip_plain:
        out["plain"] = plain(args.model, args.space, args.metric, args.n_iter, args.seed,
                             sub("plain"))  # fmt: skip
        print(f"plain : best {args.metric} {out['plain']['best']:.5f} "
              f"{out['plain']['best_params']}", flush=True)  # fmt: skip
    if args.nested or args.skip_plain:
        out["nested"] = nested(args.model, args.space, args.metric, args.n_iter, args.seed,
                               args.inner, sub("nested"))  # fmt: skip
        print(f"nested: outer {args.metric} {out['nested']['outer']:.5f} "
              f"(inner best {out['nested']['inner_best']:.5f})", flush=True)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
