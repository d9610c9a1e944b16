"""`sgd` epochs on 1 thread (``shuffle=blocked``: the blocked shuffle and the serial loop)
against ``n_threads`` threads (`mf_epoch_grid`: each grid cell shuffled and updated on its
thread), and LIBMF's epochs on the same ratings, A B A B in one run.

Random ratings of the Netflix shape's density (items Zipf-like), ``--n`` ratings, 50 factors
by default. Each of ours is one whole epoch (its shuffle included, and for the grid the copy of the
parameter rows into the grid's numbering and back, as `fit` does) from the same parameters;
the grouping into the grid is done once per fit, as `fit` does, outside the timing. LIBMF
(``--libmf-python``: a Python with the ``libmf`` package, kept out of the workbench's
virtualenv) runs in a subprocess on the same ratings with the same factors, learning rate
and L2 penalties (`benchmarks/libmf_worker.py`: its fit with 1 epoch subtracted from its fit
with ``1 + --libmf-epochs``, so its set-up is not counted). A control runs in the same
alternation: `control_kernel`, vector work with nothing shared between its threads, about
one epoch's time, on 1 and on ``n_threads`` threads: what the machine gives two threads at
that moment (on this project's VM it was 0.98-2.09x, median 1.97x, over 12 pairs: the
host's scheduling of the two virtual CPUs, not the program). Run::

    .venv/bin/python -m benchmarks.bench_sgd_threads [--n 10000000] [--factors 50] [--repeat 3]
        [--libmf-python /work/refvenv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
from workbench_sgd import _kernels as K
from workbench_sgd.base import Ratings
from workbench_sgd.biased import BiasedMF


def libmf_epoch(python: str, path: Path, factors: int, threads: int, epochs: int) -> float:
    """LIBMF's seconds per epoch (a subprocess: `benchmarks/libmf_worker.py`)."""
    worker = Path(__file__).with_name("libmf_worker.py")
    cmd = [python, str(worker), str(path), str(factors), str(threads), str(epochs)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["epoch_s"])


@numba.njit(parallel=True, fastmath=True, cache=True)
def control_kernel(parts: int, reps: int) -> np.ndarray:
    """``parts`` threads each run ``reps`` dot products of two private 16 KiB float32
    vectors (in L1; throughput-bound on the vector units, as sgd's row updates are, with
    nothing shared): two threads take half the time of one when they have two cores'
    worth of vector units."""
    out = np.zeros(parts, dtype=np.float32)
    for k in numba.prange(parts):
        a = np.full(4096, 1.0 + k * 1e-3, dtype=np.float32)
        b = np.full(4096, 0.5, dtype=np.float32)
        s = np.float32(0.0)
        for r in range(reps):
            for i in range(4096):
                s += a[i] * b[i]
            a[r % 4096] += np.float32(1e-7)
        out[k] = s
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--factors", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--libmf-python", help="a Python that can import libmf (else no LIBMF)")
    ap.add_argument("--libmf-epochs", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n_users, n_items = max(args.n // 208, 10), 17_770
    pop = np.cumsum(1.0 / np.arange(1, n_items + 1) ** 0.8)
    items = np.searchsorted(pop, rng.random(args.n) * pop[-1]).astype(np.int32)
    users = rng.integers(0, n_users, args.n).astype(np.int32)
    values = rng.integers(1, 6, args.n).astype(np.float32)
    serial_model = BiasedMF(shuffle="blocked")
    by_user = serial_model._by_user(Ratings(users, items, values))
    grid_model = BiasedMF(n_threads=args.threads)
    cells = grid_model._epoch_ratings(Ratings(users, items, values))
    p0 = rng.normal(0, 0.01, (n_users, args.factors)).astype(np.float32)
    q0 = rng.normal(0, 0.01, (n_items, args.factors)).astype(np.float32)
    kw = dict(mu=np.float32(3.0), lr=np.float32(0.005), reg=np.float32(0.04),
              reg_bias=np.float32(0.04), biased=True, update_items=True)  # fmt: skip

    # each system's parameter arrays are allocated once and reset before each run, as a fit
    # keeps its arrays from epoch to epoch (fresh copies per run put the rows in fresh memory)
    kept: dict[str, dict] = {}

    def fresh(system: str = "") -> dict:
        if system not in kept:
            kept[system] = {
                "bu": np.zeros(n_users, np.float32), "bi": np.zeros(n_items, np.float32),
                "p": p0.copy(), "q": q0.copy(),
            }  # fmt: skip
        params = kept[system]
        params["bu"][:] = 0.0
        params["bi"][:] = 0.0
        np.copyto(params["p"], p0)
        np.copyto(params["q"], q0)
        return params

    def serial() -> float:
        params = fresh("serial")
        started = time.perf_counter()
        r = serial_model._blocked(by_user, rng, 8192)
        K.mf_epoch(r.users, r.items, r.values, **params, **kw)
        return time.perf_counter() - started

    def grid(threads: int = args.threads) -> float:
        params = fresh(f"grid {threads}")
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        try:
            started = time.perf_counter()
            extra = cells.epoch_args(8192, int(rng.integers(2**63 - 1)))
            with cells.packed({**params, **kw}) as packed:
                K.mf_epoch_grid(cells.users, cells.items, cells.values, **extra, **packed)
            return time.perf_counter() - started
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)

    reps = max(1, args.n // 10)  # about one 1-thread epoch of sgd per thread

    def control(threads: int) -> float:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        try:
            started = time.perf_counter()
            control_kernel(args.threads, reps // args.threads)
            return time.perf_counter() - started
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)

    systems = {"sgd, 1 thread (shuffle=blocked)": serial,
               f"sgd, {args.threads} threads (grid)": grid,
               "control, 1 thread": lambda: control(1),
               f"control, {args.threads} threads": lambda: control(args.threads),
               "sgd grid on 1 thread (the same cells and order)": lambda: grid(1)}  # fmt: skip
    tmp = None
    if args.libmf_python:
        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / "ratings.npy"
        np.save(path, np.stack([users, items, values], axis=1).astype(np.float32))
        for t in sorted({1, args.threads}):
            systems[f"LIBMF, {t} thread(s)"] = (
                lambda t=t: libmf_epoch(args.libmf_python, path, args.factors, t, args.libmf_epochs)
            )
    serial(), grid(), control(2)  # compile or load the cache
    print(f"{args.n:,} ratings ({n_users:,} users x {n_items:,} items), {args.factors} factors; "
          f"load {os.getloadavg()}", flush=True)  # fmt: skip
    runs: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(args.repeat):
        for name, fn in systems.items():
            runs[name].append(fn())
    med = {name: float(np.median(v)) for name, v in runs.items()}
    print("| system | s / epoch (median) | runs | ns / rating |\n|---|---|---|---|")
    for name, v in runs.items():
        print(f"| {name} | {med[name]:.3f} | {', '.join(f'{x:.3f}' for x in v)} | "
              f"{med[name] / args.n * 1e9:.1f} |")  # fmt: skip
    names = list(systems)
    print(f"\nspeed-up of {names[1]} over {names[0]}: {med[names[0]] / med[names[1]]:.2f}x")
    for first, second in ((0, 1), (2, 3), (4, 1)):
        a, b = runs[names[first]], runs[names[second]]
        print(f"{names[second]} / {names[first]}, each pair: "
              f"{', '.join(f'{x / y:.2f}' for x, y in zip(a, b, strict=True))}")  # fmt: skip
    print(f"control, {args.threads} threads over 1: {med[names[2]] / med[names[3]]:.2f}x")
    print(f"{names[1]} over {names[4]}: {med[names[4]] / med[names[1]]:.2f}x")
    for t in sorted({1, args.threads}):
        if f"LIBMF, {t} thread(s)" in med:
            ours = med[names[0]] if t == 1 else med[names[1]]
            print(f"ours / LIBMF at {t} thread(s): {ours / med[f'LIBMF, {t} thread(s)']:.2f}x")
    print(f"load after {os.getloadavg()}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
