"""`svdpp` epochs on 1 thread (the serial loop: users in random order, each user's implicit
part and ``y_j`` step at once) against ``--threads`` threads (the ratings in sgd's grid, the
implicit parts held for the epoch, the ``y_j`` steps at its end), A B A B in one run.

Random ratings of the Netflix shape's density (items Zipf-like, repeats dropped), ``--n``
drawn, 50 factors. Each epoch's time is the fit's own (`EpochInfo.seconds`: the epoch with
everything it does); the first epoch of each fit is left out. Run::

    .venv/bin/python -m benchmarks.bench_svdpp_threads [--n 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics

import numpy as np
from workbench_sgd.svdpp import SVDpp

from benchmarks.bench_sgd_threads import netflix_density
from workbench.data import Interactions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--factors", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    users, items, values, (n_users, n_items) = netflix_density(args.n, np.random.default_rng(0))
    keep = np.unique(users.astype(np.int64) * n_items + items, return_index=True)[1]
    data = Interactions.from_arrays(
        users[keep], items[keep], values[keep].astype(np.float64), rating_scale=(1, 5)
    )

    def epochs(threads: int) -> list[float]:
        seconds: list[float] = []
        model = SVDpp(n_factors=args.factors, n_epochs=args.epochs, seed=1, n_threads=threads)
        model.fit(data, callback=lambda info: seconds.append(info.seconds))
        return seconds[1:]

    systems = {1: [], args.threads: []}
    for threads in systems:  # compile or load the cache
        epochs(threads)
    print(f"{len(keep):,} ratings ({n_users:,} users x {n_items:,} items), {args.factors} "
          f"factors; load {os.getloadavg()}", flush=True)  # fmt: skip
    for _ in range(args.repeat):
        for threads, runs in systems.items():
            runs.extend(epochs(threads))
    med = {t: statistics.median(v) for t, v in systems.items()}
    for threads, runs in systems.items():
        print(f"svdpp, {threads} thread(s): {med[threads]:.3f} s / epoch (median; "
              f"{', '.join(f'{x:.3f}' for x in runs)})")  # fmt: skip
    print(f"speed-up: {med[1] / med[args.threads]:.2f}x; load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
