"""LIBMF's seconds per epoch on ratings saved by `bench_sgd_threads` (run with the Python of
a virtualenv that has the ``libmf`` package: it is kept out of the workbench's own).

Usage: ``python libmf_worker.py RATINGS.npy FACTORS THREADS EPOCHS``. Fits twice, with one
epoch and with ``1 + EPOCHS``; the difference over ``EPOCHS`` is the time of an epoch
without LIBMF's set-up (its copy of the data, the grid, the initial factors). Prints JSON.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time

import numpy as np


def main() -> None:
    path, factors, threads, epochs = sys.argv[1], *map(int, sys.argv[2:5])
    with contextlib.redirect_stdout(io.StringIO()):  # the binding prints where its .so is
        from libmf import mf
    data = np.load(path)

    def fit(n_iters: int) -> float:
        model = mf.MF(
            k=factors, nr_threads=threads, nr_iters=n_iters, eta=0.005, lambda_p1=0.0,
            lambda_q1=0.0, lambda_p2=0.04, lambda_q2=0.04, quiet=True,
        )  # fmt: skip
        started = time.perf_counter()
        model.fit(data)
        return time.perf_counter() - started

    one, more = fit(1), fit(1 + epochs)
    print(json.dumps({"epoch_s": (more - one) / epochs, "one_epoch_fit_s": one}))


if __name__ == "__main__":
    main()
