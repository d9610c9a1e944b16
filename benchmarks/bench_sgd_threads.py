"""`sgd` epochs on 1 thread (the serial loop over the blocked order) against ``n_threads``
threads (the grid of `mf_epoch_grid`, its regrouping included), A B A B in one process.

Random ratings of the Netflix shape's density (items Zipf-like), ``--n`` ratings, 50 factors
by default. Each run is one epoch from the same parameters (copied), timed around the kernel
calls (and, for the grid, `BiasedMF._grid`). Run::

    .venv/bin/python -m benchmarks.bench_sgd_threads [--n 10000000] [--factors 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from workbench_sgd import _kernels as K
from workbench_sgd.base import Ratings
from workbench_sgd.biased import BiasedMF, _numba_threads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--factors", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n_users, n_items = max(args.n // 208, 10), 17_770
    pop = np.cumsum(1.0 / np.arange(1, n_items + 1) ** 0.8)
    items = np.searchsorted(pop, rng.random(args.n) * pop[-1]).astype(np.int32)
    users = rng.integers(0, n_users, args.n).astype(np.int32)
    values = rng.integers(1, 6, args.n).astype(np.float32)
    model = BiasedMF(n_threads=args.threads, shuffle="blocked")
    blocked = model._blocked(model._by_user(Ratings(users, items, values)), rng, 8192)
    p0 = rng.normal(0, 0.01, (n_users, args.factors)).astype(np.float32)
    q0 = rng.normal(0, 0.01, (n_items, args.factors)).astype(np.float32)
    kw = dict(mu=np.float32(3.0), lr=np.float32(0.005), reg=np.float32(0.04),
              reg_bias=np.float32(0.04), biased=True, update_items=True)  # fmt: skip

    def fresh() -> dict:
        return dict(bu=np.zeros(n_users, np.float32), bi=np.zeros(n_items, np.float32),
                    p=p0.copy(), q=q0.copy())  # fmt: skip

    def serial() -> float:
        params = fresh()
        started = time.perf_counter()
        K.mf_epoch(blocked.users, blocked.items, blocked.values, **params, **kw)
        return time.perf_counter() - started

    def grid() -> float:
        params = fresh()
        started = time.perf_counter()
        r, extra = model._grid(blocked, args.threads, 0)
        with _numba_threads(args.threads):
            K.mf_epoch_grid(r.users, r.items, r.values, **extra, **params, **kw)
        return time.perf_counter() - started

    serial(), grid()  # compile or load the cache
    print(f"{args.n:,} ratings, {args.factors} factors; load {os.getloadavg()}", flush=True)
    runs: dict[str, list[float]] = {"1 thread": [], f"{args.threads} threads (grid)": []}
    for _ in range(args.repeat):
        for name, fn in zip(runs, (serial, grid), strict=True):
            runs[name].append(fn())
    a, b = (float(np.median(v)) for v in runs.values())
    for name, v in runs.items():
        print(f"{name}: median {np.median(v):.3f} s ({', '.join(f'{x:.3f}' for x in v)}), "
              f"{np.median(v) / args.n * 1e9:.1f} ns/rating")  # fmt: skip
    print(f"speed-up {a / b:.2f}x; load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
