"""Full-catalogue ranking against its arithmetic limit (issue 27).

A biased factor model shaped like ``sgd`` (50 factors, float32, the same `_score`) with random
parameters, on synthetic ratings of the Netflix shape (480,189 users x 17,770 items, about 208
ratings a user; ``--users`` scales the user count down, the catalogue stays). In one process,
runs alternated (A B A B) and medians reported:

- **limit**: the score GEMM alone (``P_block @ Q.T`` in blocks of 256 users, one BLAS thread
  per thread, ``--threads`` threads): the multiply-adds every full-catalogue ranking must do;
- **recommend**: ``model.recommend(all users, 10)`` (score + seen-item exclusion + top-k);
- **evaluate**: `workbench.evaluation.evaluate` with nDCG@10 and precision@10 on a 1% holdout
  (ranking every test user over the unseen catalogue, metrics on the fly);
- with ``--old``: the same two through the numpy ranking the workbench had before this
  kernel (``tests/test_rank_kernel.py``'s reference; argpartition over 4M-score blocks).

Peak memory of each call is numpy's traced allocations (tracemalloc). Run::

    .venv/bin/python -m benchmarks.bench_ranking [--users 48000] [--threads 2] [--repeat 2] [--old]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_evaluation import RandomFactors
from workbench.data import Interactions
from workbench.evaluation import evaluate
from workbench.factor.embedding import FactorModel
from workbench.model import Model
from workbench.protocol import EvaluationProtocol
from workbench.splits import Split
from workbench.threads import limited_threads

N_USERS, N_ITEMS, PER_USER, N_FACTORS = 480_189, 17_770, 208, 50


class SgdShaped(RandomFactors):
    """``sgd``'s scoring (biased, 50 float32 factors) with random parameters."""

    name = "sgd-shaped"
    width = N_FACTORS


def synthetic(n_users: int, seed: int = 0) -> Split:
    """About ``PER_USER`` ratings a user, Zipf-like item popularity, 1% held out."""
    rng = np.random.default_rng(seed)
    n = n_users * PER_USER
    pop = np.cumsum(1.0 / np.arange(1, N_ITEMS + 1) ** 0.8)
    items = np.searchsorted(pop, rng.random(n) * pop[-1]).astype(np.int64)
    keys = np.unique(np.repeat(np.arange(n_users, dtype=np.int64), PER_USER) * N_ITEMS + items)
    del items
    user, item = (keys // N_ITEMS).astype(np.int32), (keys % N_ITEMS).astype(np.int32)
    del keys
    value = rng.integers(1, 6, len(user)).astype(np.float32)
    data = Interactions.from_arrays(user, item, value, rating_scale=(1, 5), name="netflix-shape")
    test = rng.random(len(data)) < 0.01
    return Split(train=data.subset(~test), test=data.subset(test), fold=0)


def gemm_limit(model: FactorModel, threads: int, rows: int = 256) -> float:
    """Seconds of the score GEMM alone over every user (blocks of ``rows``)."""
    p, q = model.user_factors_, model.item_factors_
    starts = list(range(0, len(p), rows))
    buffers = [np.empty((rows, len(q)), dtype=np.float32) for _ in range(threads)]

    def part(t: int) -> None:
        for s in starts[t::threads]:
            block = p[s : s + rows]
            np.matmul(block, q.T, out=buffers[t][: len(block)])

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(part, range(threads)))
    return time.perf_counter() - started


def old_rank(self: Model, state: Any, seen: Any, candidates: Any, k: int, order: Any) -> Any:
    """The numpy ranking before the compiled kernel (the test suite's reference)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from test_rank_kernel import reference

    return reference(self._score(state, candidates), seen, candidates, self.n_items_, k, order)


def timed(fn: Any) -> tuple[float, float, Any]:
    """(seconds, peak traced MiB, result) of one call."""
    tracemalloc.start()
    started = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=N_USERS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--old", action="store_true", help="also the numpy ranking of before")
    args = ap.parse_args()
    print(f"load before: {os.getloadavg()}", flush=True)
    started = time.perf_counter()
    split = synthetic(args.users)
    print(f"data: {len(split.train):,} train, {len(split.test):,} test ratings, "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    model = SgdShaped().fit(split.train)
    metrics_ = ["ndcg@10", "precision@10"]
    from workbench.experiments.resolve import resolve_metrics

    metrics = resolve_metrics(metrics_, split.train)
    users = np.arange(model.n_users_)
    new_rank = Model._rank
    systems = {"new": new_rank, **({"old": old_rank} if args.old else {})}
    rows: dict[str, list[tuple[float, float]]] = {}
    results: dict[str, Any] = {}
    with limited_threads(args.threads):
        model.recommend(users[:1000], 10)  # numba: compile or load the cache
        for rep in range(args.repeat):
            rows.setdefault("limit: score GEMM alone", []).append(
                (gemm_limit(model, args.threads), 0.0)
            )
            for name, rank in systems.items():
                Model._rank = rank  # type: ignore[method-assign]
                try:
                    sec, peak, top = timed(lambda: model.recommend(users, 10)[0])
                    rows.setdefault(f"recommend top 10, all users ({name})", []).append((sec, peak))
                    results.setdefault("top", {})[name] = top
                    sec, peak, res = timed(
                        lambda: evaluate(model, split, metrics, EvaluationProtocol())
                    )
                    rows.setdefault(f"evaluate nDCG@10, P@10 ({name})", []).append((sec, peak))
                    results.setdefault("scores", {})[name] = dict(res.scores)
                finally:
                    Model._rank = new_rank  # type: ignore[method-assign]
            print(f"repeat {rep + 1} done, load {os.getloadavg()}", flush=True)
    if args.old:
        same = np.array_equal(results["top"]["new"], results["top"]["old"])
        print(f"top-10 lists identical (new vs old): {same}; scores "
              f"{results['scores']['new']} vs {results['scores']['old']}")  # fmt: skip
    flops = 2.0 * model.n_users_ * model.n_items_ * N_FACTORS
    limit = float(np.median([s for s, _ in rows["limit: score GEMM alone"]]))
    print(f"\n{model.n_users_:,} users x {model.n_items_:,} items x {N_FACTORS} factors: "
          f"{flops:.3g} flops; GEMM at {flops / limit / 1e9:.1f} GFLOP/s on {args.threads} "
          f"thread(s); load after: {os.getloadavg()}\n")  # fmt: skip
    print("| step | median s | runs s | x limit | peak traced MiB |\n|---|---|---|---|---|")
    for name, runs in rows.items():
        med = float(np.median([s for s, _ in runs]))
        print(f"| {name} | {med:.2f} | {', '.join(f'{s:.2f}' for s, _ in runs)} | "
              f"{med / limit:.2f} | {max(p for _, p in runs):.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
