"""Speed: fit and recommend-all-users, ours against the reference library, runs alternated
(A B A B ...) in one process; medians and their ratio; the first run's extra time (numba's
compile or cache load, the reference's own JIT) reported separately as warm-up.

Quick mode: ML-100k fold 1. Full mode adds a 1M-rating synthetic set. ``sgd_scaling``:
per-epoch time of `sgd` at 1M and 10M ratings (full shuffle, shuffle=blocked, n_threads=2)
against Surprise SVD.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks import refs
from benchmarks.suites import Context, Record, suite
from workbench.data import IdMap, Interactions

EPOCHS, FACTORS = 20, 100
# The matrix-factorization tutorial's settings (no lr decay), mapped onto ours.
KMF_THEIRS = {"n_factors": FACTORS, "n_epochs": EPOCHS, "lr": 0.001, "reg": 0.005}
KMF_OURS = {**KMF_THEIRS, "reg_bias": 0.005, "init_std": 0.1, "lr_decay": 1.0}


def top_k_dense(scores: Callable[[np.ndarray], np.ndarray], train: Interactions, k: int = 10):
    """Top-k of every user from a dense score function, seen items excluded (numpy, blocks
    of 1024 users): the recommend-all a user of a reference library writes."""
    seen = train.csr()
    out = np.empty((train.n_users, k), dtype=np.int64)
    for start in range(0, train.n_users, 1024):
        users = np.arange(start, min(start + 1024, train.n_users))
        s = np.asarray(scores(users), dtype=np.float64)
        rows = seen[users]
        s[np.repeat(np.arange(len(users)), np.diff(rows.indptr)), rows.indices] = -np.inf
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(s, part, 1), axis=1, kind="stable")
        out[users] = np.take_along_axis(part, order, 1)
    return out


def alternate(
    systems: dict[str, Callable[[], float]], repeat: int
) -> dict[str, dict[str, float]]:
    """Each system's time: the first call (warm-up) then ``repeat`` alternated calls."""
    first = {name: run() for name, run in systems.items()}
    times: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(repeat):
        for name, run in systems.items():
            times[name].append(run())
    return {
        name: {"median": statistics.median(t), "warmup": first[name] - statistics.median(t)}
        for name, t in times.items()
    }


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _ours(spec: dict[str, Any], train: Interactions):
    from workbench.experiments.resolve import resolve_models

    name = spec["model"]
    params = " ".join(f"{k}={v}" for k, v in spec.items() if k != "model")
    return resolve_models([f"{name} {params}".strip()])[0].model.fit(train)


def compare(
    data: str, train: Interactions, ours: dict[str, Any], label: str, theirs: Callable,
    repeat: int, epochs: int | None = None,
) -> list[Record]:  # fmt: skip
    """fit and recommend-all of one of our models against one reference."""
    scale = train.rating_scale or (1.0, 5.0)
    state: dict[str, Any] = {}

    def fit_ours() -> float:
        return timed(lambda: state.__setitem__("ours", _ours(ours, train)))

    def fit_theirs() -> float:  # the library's fit call alone (not its input conversion)
        seconds = timed(lambda: state.__setitem__("theirs", theirs(train, scale)))
        return state["theirs"].fit_s if state["theirs"].fit_s is not None else seconds

    try:
        fit = alternate({"ours": fit_ours, "theirs": fit_theirs}, repeat)
    except refs.Missing as exc:
        return [{"kind": "missing", "library": label, "why": str(exc)}]
    users = np.arange(train.n_users)
    rec = alternate(
        {
            "ours": lambda: timed(lambda: state["ours"].recommend(users, 10)),
            "theirs": lambda: timed(lambda: top_k_dense(state["theirs"].scores, train)),
        },
        repeat,
    )
    spec = " ".join(f"{k}={v}" for k, v in ours.items() if k != "model")
    rows = []
    for task, res, ref_label in (
        ("fit", fit, label),
        ("recommend all users (top 10)", rec, f"numpy top-k on {label}'s factors"),
    ):
        row = {
            "kind": "speed", "task": task, "data": data, "rows": len(train),
            "ours": f"{ours['model']} {spec}".strip(), "reference": ref_label,
            "ours_s": res["ours"]["median"], "reference_s": res["theirs"]["median"],
            "ratio": res["theirs"]["median"] / res["ours"]["median"],
            "ours_warmup_s": res["ours"]["warmup"], "reference_warmup_s": res["theirs"]["warmup"],
            "runs": repeat,
        }  # fmt: skip
        if epochs and task == "fit":
            row["ours_epoch_s"] = row["ours_s"] / epochs
            row["reference_epoch_s"] = row["reference_s"] / epochs
        rows.append(row)
        print(f"  {data:14s} {task:30s} {row['ours']:32s} {row['ours_s']:8.3f} s   "
              f"{ref_label:34s} {row['reference_s']:8.3f} s   x{row['ratio']:.2f}", flush=True)
    return rows


def synthetic(n_ratings: int, seed: int = 0) -> Interactions:
    """MovieLens-like ratings from `benchmarks.bench_sgd.synthetic`'s recipe at any size:
    10,000 users (log-normal activity) x 5,000 items (Zipf-like), exactly ``n_ratings``."""
    rng = np.random.default_rng(seed)
    n_users, n_items, rank = 10_000, 5_000, 10
    activity = rng.lognormal(0, 1.0, n_users)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    keys = np.empty(0, dtype=np.int64)
    draw = n_ratings
    while len(keys) < n_ratings:
        u = rng.choice(n_users, size=draw, p=activity / activity.sum())
        i = rng.choice(n_items, size=draw, p=popularity / popularity.sum())
        keys = np.unique(np.concatenate([keys, u.astype(np.int64) * n_items + i]))
        draw = max(2 * (n_ratings - len(keys)), 1000)
    keys = keys[rng.permutation(len(keys))[:n_ratings]]
    u, i = (keys // n_items).astype(np.int32), (keys % n_items).astype(np.int32)
    p, q = rng.normal(0, 0.35, (n_users, rank)), rng.normal(0, 0.35, (n_items, rank))
    signal = 3.6 + rng.normal(0, 0.4, n_users)[u] + rng.normal(0, 0.5, n_items)[i]
    signal += np.einsum("ij,ij->i", p[u], q[i]) + rng.normal(0, 0.8, len(u))
    values = np.clip(np.round(signal), 1, 5).astype(np.float32)
    return Interactions(
        u, i, values, users=IdMap(np.arange(n_users)), items=IdMap(np.arange(n_items)),
        rating_scale=(1.0, 5.0), name=f"synthetic-{n_ratings // 1_000_000}m",
    )  # fmt: skip


def _epoch_seconds(spec: dict[str, Any], train: Interactions) -> tuple[float, float]:
    """(median seconds of one epoch, seconds of the fit outside the epochs) of one fit: the
    epochs timed by the training callback, so per-fit set-up (casts, the blocked order's
    sort by user) is not counted as epoch time, whatever the number of epochs."""
    from workbench.experiments.resolve import resolve_models

    params = " ".join(f"{k}={v}" for k, v in spec.items() if k != "model")
    model = resolve_models([f"{spec['model']} {params}"])[0].model
    epochs: list[float] = []
    total = timed(lambda: model.fit(train, callback=lambda info: epochs.append(info.seconds)))
    return statistics.median(epochs), total - sum(epochs)


def sgd_epochs(n_ratings: int, repeat: int, epochs: int = 3) -> list[Record]:
    """Seconds per epoch of sgd (full shuffle, blocked, 2 threads; the epochs alone, set-up
    reported apart) and Surprise SVD (its fit call / epochs)."""
    train = synthetic(n_ratings)
    settings = {
        "sgd (full shuffle, 1 thread)": {},
        "sgd shuffle=blocked (1 thread)": {"shuffle": "blocked"},
        "sgd n_threads=2": {"n_threads": 2},
    }
    setup: dict[str, list[float]] = {label: [] for label in settings}
    systems: dict[str, Callable[[], float]] = {}
    for label, extra in settings.items():
        spec = {"model": "sgd", "n_factors": FACTORS, "n_epochs": epochs, **extra}

        def run(spec: dict[str, Any] = spec, label: str = label) -> float:
            epoch_s, setup_s = _epoch_seconds(spec, train)
            setup[label].append(setup_s)
            return epoch_s

        systems[label] = run
    surprise_epochs = max(1, epochs if n_ratings < 10_000_000 else 1)
    try:
        refs._import("surprise", "scikit-surprise")
        systems["Surprise SVD"] = lambda: refs.surprise_model(  # its fit call alone
            "SVD", train, (1, 5), n_factors=FACTORS, n_epochs=surprise_epochs
        ).fit_s / surprise_epochs
    except refs.Missing as exc:
        print(f"  {exc}")
    res = alternate(systems, repeat)
    rows = []
    surprise = res.get("Surprise SVD", {}).get("median")
    for label, r in res.items():
        row = {
            "kind": "epoch", "data": train.name, "rows": n_ratings, "system": label,
            "epoch_s": r["median"], "ns_per_rating": r["median"] / n_ratings * 1e9,
            "vs_surprise": None if surprise is None else surprise / r["median"],
            "warmup_s": r["warmup"], "runs": repeat,
            "setup_s": statistics.median(setup[label]) if setup.get(label) else None,
            "loadavg": os.getloadavg()[0],
        }  # fmt: skip
        rows.append(row)
        print(f"  {train.name:14s} {label:34s} {row['epoch_s']:7.3f} s/epoch "
              f"{row['ns_per_rating']:6.0f} ns/rating  x{row['vs_surprise'] or 0:.2f}", flush=True)
    return rows


@suite("speed")
def speed(ctx: Context) -> list[Record]:
    from benchmarks.suite_accuracy import splits

    surprise = refs.surprise_model
    if ctx.tiny:
        from workbench.testing import low_rank_ratings

        sets = [("tiny", low_rank_ratings(n_users=60, n_items=40, density=0.3, seed=0))]
    else:
        sets = [("ml-100k fold 1", splits(Context(quick=True))[1][0].train)]
        if not ctx.quick:
            sets.append(("synthetic 1M", synthetic(1_000_000)))
    epochs = 2 if ctx.tiny else EPOCHS
    rows: list[Record] = []
    for label, train in sets:
        rows += compare(
            label, train, {"model": "sgd", "n_factors": FACTORS, "n_epochs": epochs},
            "Surprise SVD",
            lambda tr, sc: surprise("SVD", tr, sc, n_factors=FACTORS, n_epochs=epochs),
            ctx.repeat, epochs,
        )  # fmt: skip
        rows += compare(
            label, train, {"model": "biases"}, "Surprise BaselineOnly",
            lambda tr, sc: surprise("BaselineOnly", tr, sc, verbose=False,
                                    bsl_options={"method": "als", "reg_u": 5, "reg_i": 3,
                                                 "n_epochs": 15}),
            ctx.repeat,
        )  # fmt: skip
        if not ctx.tiny:
            kmf = {**KMF_OURS, "n_epochs": epochs}
            rows += compare(
                label, train, {"model": "kernel-mf", "kernel": "linear", **kmf},
                "matrix-factorization KernelMF",
                lambda tr, sc: refs.kernel_mf(tr, sc, kernel="linear", **KMF_THEIRS),
                ctx.repeat, epochs,
            )  # fmt: skip
    rows.append({"kind": "machine_load", "loadavg": os.getloadavg()})
    return rows


@suite("sgd_scaling")
def sgd_scaling(ctx: Context) -> list[Record]:
    """sgd seconds per epoch at 1M and 10M ratings (full mode; quick mode: 1M only; tiny:
    20k) against Surprise SVD: does the time per rating stay flat as the data grows?"""
    sizes = [20_000] if ctx.tiny else [1_000_000] if ctx.quick else [1_000_000, 10_000_000]
    rows: list[Record] = []
    for n in sizes:
        epochs = 1 if ctx.tiny else 3  # Surprise runs one epoch at 10M (17 s an epoch)
        rows += sgd_epochs(n, repeat=max(1, ctx.repeat - 1), epochs=epochs)
    rows.append({"kind": "machine_load", "loadavg": os.getloadavg()})
    return rows
