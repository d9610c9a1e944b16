"""Time per iteration and peak memory of one ALS fit, ours or ``implicit``'s, in a fresh
process per library (``--lib``): ``ours`` (`ials`'s solver), ``implicit`` (its CPU ALS,
the same confidence matrix, factors, regularisation and threads, BLAS held to one thread),
``ours-explicit`` (`als`'s biased explicit solver on the ratings themselves; `implicit` has
no explicit-feedback ALS to set beside it).

The data: ``--shape movielens`` (`benchmarks.bench_als.synthetic`: n/20 users, n/100
items) or ``--shape netflix`` (480,189 users x 17,770 items, about ``n / 480,189`` distinct
Zipf-popular items a user: issue 27's 100M set). The peak is the process's resident
high-water mark during the fit alone (reset after the data is built, through
``/proc/self/clear_refs``), and over the whole process beside it::

    .venv/bin/python -m benchmarks.peak_memory_als --lib ours --n 10000000
    .venv/bin/python -m benchmarks.peak_memory_als --lib implicit --shape netflix --n 100000000
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import scipy.sparse as sp

from benchmarks.bench_als import synthetic

NETFLIX_USERS, NETFLIX_ITEMS = 480_189, 17_770


def netflix(n: int, seed: int = 0) -> sp.csr_matrix:
    """About ``n`` ratings (1-5) of the Netflix shape: each user ``n // users`` Zipf draws
    of items, repeats dropped."""
    rng = np.random.default_rng(seed)
    per = max(1, n // NETFLIX_USERS)
    pop = np.cumsum(1.0 / np.arange(1, NETFLIX_ITEMS + 1) ** 0.8)
    items = np.searchsorted(pop, rng.random(NETFLIX_USERS * per) * pop[-1]).astype(np.int64)
    keys = np.repeat(np.arange(NETFLIX_USERS, dtype=np.int64), per) * NETFLIX_ITEMS
    keys += items
    del items
    keys = np.unique(keys)
    indptr = np.zeros(NETFLIX_USERS + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // NETFLIX_ITEMS, minlength=NETFLIX_USERS), out=indptr[1:])
    indices = (keys % NETFLIX_ITEMS).astype(np.int32)
    del keys
    values = rng.integers(1, 6, len(indices)).astype(np.float32)
    return sp.csr_matrix((values, indices, indptr), shape=(NETFLIX_USERS, NETFLIX_ITEMS))


def hwm_mib() -> float:
    """The process's resident high-water mark (VmHWM), MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_hwm() -> None:
    """Start the high-water mark again from the current resident size (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", choices=["ours", "implicit", "ours-explicit", "none"],
                        default="ours")  # fmt: skip
    parser.add_argument("--shape", choices=["movielens", "netflix"], default="movielens")
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from workbench_als import solvers

    started = time.perf_counter()
    raw = netflix(args.n) if args.shape == "netflix" else synthetic(args.n)
    ratings = solvers.clean_csr(raw)
    del raw
    conf = None
    if args.lib != "ours-explicit":
        conf = solvers.with_confidence(ratings, 1.0, "linear", 1.0)
        del ratings
    build_s = time.perf_counter() - started
    data_peak, before = hwm_mib(), None
    reset_hwm()
    with open("/proc/self/status") as fh:
        before = next(int(x.split()[1]) / 1024 for x in fh if x.startswith("VmRSS:"))
    times: list[float] = []
    last = [time.perf_counter()]

    def tick(*_: object, **__: object) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    from threadpoolctl import threadpool_limits

    from workbench.threads import limited_threads

    last[0] = time.perf_counter()
    if args.lib == "ours":
        cfg = solvers.ImplicitConfig(
            n_factors=args.factors, n_iterations=args.iterations, compute_loss=False
        )
        with limited_threads(args.threads):
            solvers.fit_implicit(conf, cfg, callback=tick)
    elif args.lib == "ours-explicit":
        cfg = solvers.ExplicitConfig(n_factors=args.factors, n_iterations=args.iterations)
        with limited_threads(args.threads):
            solvers.fit_explicit(ratings, cfg, callback=tick)
    elif args.lib == "implicit":
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(
            factors=args.factors, iterations=args.iterations, regularization=0.1,
            num_threads=args.threads, random_state=0, calculate_training_loss=False,
        )  # fmt: skip
        with threadpool_limits(1, "blas"):
            model.fit(conf, show_progress=False, callback=lambda *a: tick())
    total = time.perf_counter() - last[0] if not times else sum(times)
    nnz = conf.nnz if conf is not None else ratings.nnz
    fit_peak = hwm_mib() - before
    print(f"{args.lib:13s} {args.shape} nnz={nnz:,d} factors={args.factors} threads="
          f"{args.threads}: s/iteration {', '.join(f'{t:.2f}' for t in times) or '-'} "
          f"(fit {total:.1f} s); fit peak +{fit_peak:.0f} MiB over {before:.0f} MiB; process "
          f"peak {max(data_peak, hwm_mib()):.0f} MiB; data built in {build_s:.0f} s; "
          f"load {os.getloadavg()}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
