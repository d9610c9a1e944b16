"""SGD family side by side: speed against Surprise and matrix-factorization, 5-fold accuracy.

In one run, on the same data:

1. speed: our ``sgd`` against Surprise's ``SVD`` (same factors and epochs) and our
   ``kernel-mf`` against the ``matrix-factorization`` package's ``KernelMF`` (same kernel,
   factors, epochs, lr and reg), on fold 1 of MovieLens-100k and on a 1M-rating synthetic
   MovieLens-like set; seconds per epoch (median of ``--repeat`` fits, runs interleaved),
   test RMSE and the ratio;
2. compile time: the first call in a fresh process with an empty numba cache, and with the
   cache on disk (what every later process pays);
3. accuracy: 5-fold RMSE on MovieLens-100k (one seeded permutation, each rating in exactly
   one test fold, the same folds for every model) of every model of the baselines and sgd
   plugins with their defaults, the tuned ``sgd`` setting, and Surprise's SVD, against the
   targets of issue 5.

The reference libraries are benchmark-only (not dependencies of the workbench)::

    .venv/bin/pip install scikit-surprise matrix-factorization
    .venv/bin/python -m benchmarks.bench_sgd [--repeat 3] [--quick] [--json out.json]

MovieLens-100k is read from ``$WORKBENCH_DATA_DIR/ml-100k/u.data`` (default ``../shared/data``
beside the checkout). Figures are recorded in docs/models.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.data import Interactions

ROOT = Path(__file__).resolve().parents[1]
F32 = np.float32

#: The tuned sgd setting recorded in docs/models.md (found by a grid search on 5 folds).
TUNED_SGD = {"n_factors": 200, "n_epochs": 100, "lr_decay": 0.97, "reg": 0.05}
TARGETS = {
    "sgd (defaults)": 0.915,
    "sgd (tuned)": 0.905,
    "svdpp": 0.910,
    "biases als": 0.945,
    "biases sgd": 0.945,
    "kernel-mf linear": 0.925,
    "kernel-mf sigmoid": 0.95,
    "kernel-mf rbf": 0.95,
}


# -- data ----------------------------------------------------------------------------------------
def data_dir() -> Path:
    env = os.environ.get("WORKBENCH_DATA_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def load_ml100k() -> Interactions:
    path = data_dir() / "ml-100k" / "u.data"
    if not path.exists():
        sys.exit(f"MovieLens-100k not found at {path}: set WORKBENCH_DATA_DIR")
    df = pd.read_csv(path, sep="\t", names=["user", "item", "rating", "timestamp"])
    return Interactions.from_pandas(df, value="rating", rating_scale=(1, 5), name="ml-100k")


def kfold(data: Interactions, k: int = 5, seed: int = 0) -> list[tuple[Interactions, Interactions]]:
    perm = np.random.default_rng(seed).permutation(len(data))
    fold = np.empty(len(data), dtype=np.int64)
    fold[perm] = np.arange(len(data)) % k
    return [(data.subset(fold != f), data.subset(fold == f)) for f in range(k)]


def synthetic(n_ratings: int = 1_000_000, seed: int = 0) -> tuple[Interactions, Interactions]:
    """MovieLens-like ratings: 10,000 users (log-normal activity), 5,000 items (Zipf-like
    popularity), ratings 1..5 from a rank-10 biased model plus noise; 10% held out."""
    rng = np.random.default_rng(seed)
    n_users, n_items, rank = 10_000, 5_000, 10
    activity = rng.lognormal(0, 1.0, n_users)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    u = rng.choice(n_users, size=int(n_ratings * 1.05), p=activity / activity.sum())
    i = rng.choice(n_items, size=len(u), p=popularity / popularity.sum())
    key = np.unique(u.astype(np.int64) * n_items + i)[:n_ratings]
    rng.shuffle(key)
    u, i = (key // n_items).astype(np.int32), (key % n_items).astype(np.int32)
    p, q = rng.normal(0, 0.35, (n_users, rank)), rng.normal(0, 0.35, (n_items, rank))
    signal = 3.6 + rng.normal(0, 0.4, n_users)[u] + rng.normal(0, 0.5, n_items)[i]
    signal += np.einsum("ij,ij->i", p[u], q[i]) + rng.normal(0, 0.8, len(u))
    values = np.clip(np.round(signal), 1, 5)
    data = Interactions.from_arrays(u, i, values, rating_scale=(1, 5), name="synthetic-1m")
    test = rng.random(len(data)) < 0.1
    return data.subset(~test), data.subset(test)


def rmse(pred: np.ndarray, truth: np.ndarray) -> float:
    pred = np.clip(np.asarray(pred, dtype=np.float64), 1, 5)
    return float(np.sqrt(np.mean((pred - truth) ** 2)))


# -- the systems -------------------------------------------------------------------------------
def ours(name: str, **params: Any) -> Callable[[Interactions, Interactions], tuple[float, float]]:
    """A fit-and-score function for one of our models: returns (fit seconds, test RMSE)."""
    from workbench_baselines.models import Biases, GlobalMean, Popularity
    from workbench_sgd.biased import BiasedMF
    from workbench_sgd.kernel_mf import KernelMF
    from workbench_sgd.svdpp import SVDpp

    classes = {
        "sgd": BiasedMF,
        "svdpp": SVDpp,
        "kernel-mf": KernelMF,
        "biases": Biases,
        "global-mean": GlobalMean,
        "popularity": Popularity,
    }

    def run(train: Interactions, test: Interactions) -> tuple[float, float]:
        started = time.perf_counter()
        model = classes[name](**params).fit(train)
        seconds = time.perf_counter() - started
        return seconds, rmse(model.predict(test.user, test.item), test.value)

    return run


def surprise_svd(**params: Any) -> Callable[[Interactions, Interactions], tuple[float, float]]:
    from surprise import SVD, Dataset, Reader

    def run(train: Interactions, test: Interactions) -> tuple[float, float]:
        df = pd.DataFrame({"u": train.user, "i": train.item, "r": train.value})
        trainset = Dataset.load_from_df(df, Reader(rating_scale=(1, 5))).build_full_trainset()
        algo = SVD(random_state=0, **params)
        started = time.perf_counter()  # building the trainset is not counted
        algo.fit(trainset)
        seconds = time.perf_counter() - started
        pred = [
            algo.predict(u, i).est
            for u, i in zip(test.user.tolist(), test.item.tolist(), strict=True)
        ]
        return seconds, rmse(np.array(pred), test.value)

    return run


def mf_kernel(**params: Any) -> Callable[[Interactions, Interactions], tuple[float, float]]:
    from matrix_factorization import KernelMF

    def run(train: Interactions, test: Interactions) -> tuple[float, float]:
        x = pd.DataFrame(
            {"user_id": train.user.astype(np.float64), "item_id": train.item.astype(np.float64)}
        )
        y = pd.Series(train.value.astype(np.float64))
        algo = KernelMF(min_rating=1, max_rating=5, verbose=0, **params)
        started = time.perf_counter()
        algo.fit(x, y)
        seconds = time.perf_counter() - started
        xt = pd.DataFrame(
            {"user_id": test.user.astype(np.float64), "item_id": test.item.astype(np.float64)}
        )
        return seconds, rmse(np.array(algo.predict(xt)), test.value)

    return run


# -- measurements --------------------------------------------------------------------------------
def side_by_side(
    pairs: dict[str, Callable], train: Interactions, test: Interactions, repeat: int
) -> dict[str, dict[str, float]]:
    """Median fit seconds and RMSE of each system, runs interleaved (A B A B ...)."""
    times: dict[str, list[float]] = {k: [] for k in pairs}
    scores: dict[str, float] = {}
    for _ in range(repeat):
        for key, run in pairs.items():
            seconds, score = run(train, test)
            times[key].append(seconds)
            scores[key] = score
    return {k: {"fit_s": statistics.median(times[k]), "rmse": scores[k]} for k in pairs}


def speed(repeat: int, quick: bool) -> list[dict[str, Any]]:
    ml_train, ml_test = kfold(load_ml100k())[0]
    sets = [("ml-100k", ml_train, ml_test)]
    if not quick:
        sets.append(("synthetic-1m", *synthetic()))
    epochs, factors = 20, 100
    # The settings of the matrix-factorization tutorial (its init_std 0.1, no lr decay).
    kernel_settings = {"n_factors": factors, "n_epochs": epochs, "lr": 0.001, "reg": 0.005}
    same = {"reg_bias": 0.005, "init_std": 0.1, "lr_decay": 1.0}
    rows = []
    for label, train, test in sets:
        warm = train.subset(np.arange(1000))
        for run in (ours("sgd", n_epochs=1), ours("kernel-mf", n_epochs=1)):
            run(warm, warm)  # load the compiled code before timing
        mf_kernel(n_epochs=1)(warm, warm)  # the reference package compiles on first use too
        pairs = {
            "sgd": ours("sgd", n_factors=factors, n_epochs=epochs),
            "Surprise SVD": surprise_svd(n_factors=factors, n_epochs=epochs),
        }
        res = side_by_side(pairs, train, test, repeat)
        rows.append(_row(label, "sgd vs Surprise SVD", res, "sgd", "Surprise SVD", epochs))
        for kernel in ("linear", "sigmoid", "rbf"):
            pairs = {
                "kernel-mf": ours("kernel-mf", kernel=kernel, **same, **kernel_settings),
                "mf KernelMF": mf_kernel(kernel=kernel, **kernel_settings),
            }
            res = side_by_side(pairs, train, test, repeat)
            what = f"kernel-mf {kernel} vs matrix-factorization KernelMF"
            rows.append(_row(label, what, res, "kernel-mf", "mf KernelMF", epochs))
        print_rows(rows[-4:])
    return rows


def _row(data: str, what: str, res: dict, a: str, b: str, epochs: int) -> dict[str, Any]:
    return {
        "data": data,
        "comparison": what,
        "ours_epoch_s": res[a]["fit_s"] / epochs,
        "theirs_epoch_s": res[b]["fit_s"] / epochs,
        "speedup": res[b]["fit_s"] / res[a]["fit_s"],
        "ours_rmse": res[a]["rmse"],
        "theirs_rmse": res[b]["rmse"],
    }


def print_rows(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        print(
            f"  {r['data']:<13} {r['comparison']:<52} ours {r['ours_epoch_s'] * 1e3:8.2f} ms/epoch"
            f"  theirs {r['theirs_epoch_s'] * 1e3:8.2f} ms/epoch  x{r['speedup']:5.2f}"
            f"  RMSE {r['ours_rmse']:.4f} vs {r['theirs_rmse']:.4f}",
            flush=True,
        )


_COMPILE_SNIPPET = """
import json, time
t = time.perf_counter(); import numba; numba_import = time.perf_counter() - t
from workbench.testing import low_rank_ratings
from workbench_sgd.biased import BiasedMF
from workbench_sgd.svdpp import SVDpp
from workbench_sgd.kernel_mf import KernelMF
from workbench_baselines.models import Biases
data = low_rank_ratings()
out = {}
for name, make in [("sgd", BiasedMF), ("svdpp", SVDpp),
                   ("kernel-mf (3 kernels)", None),
                   ("biases sgd", lambda **k: Biases(method="sgd", **k))]:
    if make is None:
        t = time.perf_counter()
        for k in ("linear", "sigmoid", "rbf"):
            KernelMF(kernel=k, n_epochs=1).fit(data)
        first = time.perf_counter() - t
        t = time.perf_counter()
        for k in ("linear", "sigmoid", "rbf"):
            KernelMF(kernel=k, n_epochs=1).fit(data)
        out[name] = first - (time.perf_counter() - t)
        continue
    t = time.perf_counter(); make(n_epochs=1).fit(data); first = time.perf_counter() - t
    t = time.perf_counter(); make(n_epochs=1).fit(data); again = time.perf_counter() - t
    out[name] = first - again
out["(import numba)"] = numba_import
print(json.dumps(out))
"""


def compile_times() -> dict[str, dict[str, float]]:
    """First-call overhead (first fit minus second fit) in fresh processes: with an empty
    numba cache (compiling) and then with the cache it left on disk (loading)."""
    result: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold cache (compile)", "warm disk cache (load)"):
            out = subprocess.run(
                [sys.executable, "-c", _COMPILE_SNIPPET],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            result[label] = json.loads(out.strip().splitlines()[-1])
    return result


def accuracy(quick: bool) -> list[dict[str, Any]]:
    folds = kfold(load_ml100k())
    if quick:
        folds = folds[:2]
    systems: dict[str, Callable] = {
        "global-mean": ours("global-mean"),
        "popularity (rating-scale score)": ours("popularity"),
        "biases als": ours("biases", method="als"),
        "biases sgd": ours("biases", method="sgd"),
        "sgd (defaults)": ours("sgd"),
        "sgd (tuned)": ours("sgd", **TUNED_SGD),
        "svdpp": ours("svdpp"),
        "kernel-mf linear": ours("kernel-mf", kernel="linear"),
        "kernel-mf sigmoid": ours("kernel-mf", kernel="sigmoid"),
        "kernel-mf rbf": ours("kernel-mf", kernel="rbf"),
    }
    try:
        systems["Surprise SVD (defaults)"] = surprise_svd()
    except ImportError:
        print("  (scikit-surprise not installed: its row is left out)")
    rows = []
    for name, run in systems.items():
        results = [run(train, test) for train, test in folds]
        row = {
            "model": name,
            "rmse": float(np.mean([r[1] for r in results])),
            "fit_s": float(np.mean([r[0] for r in results])),
            "target": TARGETS.get(name),
        }
        rows.append(row)
        target = f"<= {row['target']}" if row["target"] else ""
        ok = "" if row["target"] is None else ("ok" if row["rmse"] <= row["target"] else "MISSED")
        print(f"  {name:<34} RMSE {row['rmse']:.4f}  fit {row['fit_s']:6.2f} s  {target} {ok}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fits per system for timings")
    parser.add_argument("--quick", action="store_true", help="ML-100k only, 2 folds")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print("speed (seconds per epoch, median of fits; ratio = theirs / ours):")
    speed_rows = speed(args.repeat, args.quick)
    print("first-call overhead (s):")
    compiled = compile_times()
    for label, values in compiled.items():
        print(f"  {label}: " + ", ".join(f"{k} {v:.2f}" for k, v in values.items()))
    print("accuracy: RMSE on MovieLens-100k, " + ("2" if args.quick else "5") + "-fold:")
    acc_rows = accuracy(args.quick)
    if args.json:
        args.json.write_text(
            json.dumps({"speed": speed_rows, "compile": compiled, "accuracy": acc_rows}, indent=1)
        )


if __name__ == "__main__":
    main()
