"""Implicit ALS next to `implicit`'s CPU ALS at equal settings: time per iteration AND ranking
quality of the same fits, side by side (called by ``bench_als.py --only implicit-ndcg``).

Split: a seeded per-user holdout. Every user with at least two interactions gives
``round(fraction * n_u)`` (at least one) of them, drawn uniformly at random, to the test
set; the rest is training data (users with one interaction are training-only, untested).
Both libraries train on the same confidence matrix built from the training part (ours
``1 + alpha f(r)``, given to `implicit` with ``alpha=1``: the same linear systems, see
``tests/test_als.py::test_recalculate_user_equivalence_with_implicit``), with the same
factors, iterations and regularisation, the same threads (numba / ``num_threads``; BLAS 1).
Both factor sets are scored by one function (`benchmarks.evalkit.ranking_metrics`, the
evaluator whose figures agree with the workbench's): every item the user has no training
interaction with is a candidate, every held-out item is relevant, nDCG@10 and recall@10 per
test user, averaged (optionally over a seeded sample of test users).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from benchmarks import evalkit
from workbench.data import Interactions


def holdout(data: Interactions, fraction: float, seed: int) -> tuple[np.ndarray, int]:
    """(bool mask of the test rows, number of test users): per user, ``round(fraction n_u)``
    (>= 1) random rows of users with >= 2 rows."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(data)), data.user))  # by user, random inside
    users = data.user[order]
    starts = np.searchsorted(users, users, side="left")
    rank = np.arange(len(users)) - starts  # position of the row inside its user's block
    counts = np.bincount(data.user, minlength=data.n_users)
    n_test = np.where(counts >= 2, np.maximum(1, np.rint(fraction * counts)), 0)
    mask = np.zeros(len(data), dtype=bool)
    mask[order] = rank < n_test[users]
    return mask, int((n_test > 0).sum())


@dataclass
class Fit:
    seconds_per_iteration: float
    user_factors: np.ndarray
    item_factors: np.ndarray


def fit_ours(conf: sp.csr_matrix, factors: int, iters: int, reg: float, threads: int) -> Fit:
    from workbench_als import solvers

    from workbench.threads import limited_threads

    cfg = solvers.ImplicitConfig(
        n_factors=factors, n_iterations=iters, reg=reg, compute_loss=False
    )
    with limited_threads(threads):
        started = time.perf_counter()
        X, Y, _ = solvers.fit_implicit(conf, cfg)
        seconds = (time.perf_counter() - started) / iters
    return Fit(seconds, X, Y)


def fit_implicit(
    conf: sp.csr_matrix, factors: int, iters: int, reg: float, threads: int
) -> Fit:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AlternatingLeastSquares(
            factors=factors, iterations=iters, regularization=reg, alpha=1.0,
            num_threads=threads, random_state=0, calculate_training_loss=False,
        )
        started = time.perf_counter()
        model.fit(conf, show_progress=False)
        seconds = (time.perf_counter() - started) / iters
    return Fit(seconds, np.asarray(model.user_factors), np.asarray(model.item_factors))


METRICS = ("ndcg@10", "recall@10")


def quality(
    fit: Fit, train: Interactions, test: Interactions, batch: int, groups: np.ndarray
) -> dict[str, np.ndarray]:
    """nDCG@10 and recall@10 of one factor set (all test rows relevant), as the means over
    each group of test users (``groups``: a group number per user index, -1 for none), so
    two factor sets scored on the same groups give a paired standard error."""
    X, Y = fit.user_factors, fit.item_factors

    def scores(users: np.ndarray) -> np.ndarray:
        return X[users] @ Y.T

    out: dict[str, list[float]] = {m: [] for m in METRICS}
    for g in range(groups.max() + 1):
        part = test.subset(groups[test.user] == g)
        got = evalkit.ranking_metrics(scores, train, part, threshold=-np.inf, batch=batch)
        for m in METRICS:
            out[m].append(got[m])
    return {m: np.asarray(v) for m, v in out.items()}


def _mean_se(values: np.ndarray, sizes: np.ndarray) -> tuple[float, float]:
    """User-weighted mean of group means and its standard error (between-group spread)."""
    mean = float(np.average(values, weights=sizes))
    if len(values) < 2:
        return mean, float("nan")
    var = np.sum(sizes**2 * (values - mean) ** 2) / (len(values) - 1) * len(values)
    return mean, float(np.sqrt(var) / sizes.sum())


def compare(
    name: str,
    data: Interactions,
    *,
    confidence: str,
    factors: int,
    iterations: int,
    reg: float = 0.1,
    threads: int = 2,
    repeats: int = 2,
    fraction: float = 0.2,
    sample_users: int | None = None,
    batch: int = 256,
    n_groups: int = 20,
    seed: int = 0,
) -> list[dict[str, float | str]]:
    """Fit both ``repeats`` times (ours, implicit, ours, ...), print seconds per iteration of
    each fit and the quality of the first fit of each (the fits are deterministic), and the
    most-popular ranking's quality on the same users for context. Standard errors: from
    ``n_groups`` random groups of the scored users (for ours - implicit, paired by group)."""
    from workbench_als import solvers

    mask, n_test_users = holdout(data, fraction, seed)
    train, test = data.subset(~mask, name="train"), data.subset(mask, name="test")
    if sample_users is not None and sample_users < n_test_users:
        users = np.unique(test.user)
        picked = np.random.default_rng(seed + 1).choice(users, sample_users, replace=False)
        test = test.subset(np.isin(test.user, picked), name="test sample")
    scored = np.unique(test.user)
    n_scored = len(scored)
    groups = np.full(data.n_users, -1)
    groups[scored] = np.random.default_rng(seed + 2).permutation(n_scored) % n_groups
    sizes = np.bincount(groups[scored], minlength=n_groups).astype(np.float64)
    conf = solvers.with_confidence(solvers.clean_csr(train.csr()), 1.0, confidence, 1.0)
    print(f"ials vs implicit  {name}: train {conf.nnz:,d} interactions "
          f"({data.n_users:,d} users x {data.n_items:,d} items), test {len(test):,d} "
          f"held-out interactions of {n_scored:,d} users (of {n_test_users:,d} test users); "
          f"{factors} factors, {iterations} iterations, reg {reg}, confidence 1 + "
          f"{'log(1 + r)' if confidence == 'log' else 'r'}, {threads} threads", flush=True)
    for fitter in (fit_ours, fit_implicit):  # warm-up (numba, thread pools), not timed
        fitter(conf[:200], 8, 1, reg, threads)
    per_group: dict[str, dict[str, np.ndarray]] = {}
    times: dict[str, list[float]] = {"ours": [], "implicit": []}
    for rep in range(repeats):
        for lib, fitter in (("ours", fit_ours), ("implicit", fit_implicit)):
            fit = fitter(conf, factors, iterations, reg, threads)
            times[lib].append(fit.seconds_per_iteration)
            seconds = fit.seconds_per_iteration
            line = f"ials vs implicit  {name} rep {rep}: {lib:8s} {seconds:.4f} s/it"
            if rep == 0:
                started = time.perf_counter()
                per_group[lib] = quality(fit, train, test, batch, groups)
                line += "".join(
                    f"  {m} {_mean_se(per_group[lib][m], sizes)[0]:.4f}" for m in METRICS
                ) + f"  (scored in {time.perf_counter() - started:.0f} s)"
            print(line, flush=True)
    # context: most popular items (training counts), scored by the same function
    counts = np.bincount(train.item, minlength=data.n_items).astype(np.float32)
    popular = Fit(np.nan, np.ones((data.n_users, 1), np.float32), counts[:, None])
    per_group["popularity"] = quality(popular, train, test, batch, groups)
    rows: list[dict[str, float | str]] = []
    for lib, got in per_group.items():
        row: dict[str, float | str] = {"library": lib}
        for m in METRICS:
            row[m], row[f"{m} se"] = _mean_se(got[m], sizes)
        row["seconds_per_iteration"] = float(np.median(times[lib])) if lib in times else np.nan
        rows.append(row)
    ratios = np.array(times["ours"]) / np.array(times["implicit"])
    diff = {m: _mean_se(per_group["ours"][m] - per_group["implicit"][m], sizes) for m in METRICS}
    rows[0]["ratio"] = float(np.median(ratios))
    paired: dict[str, float | str] = {"library": "ours - implicit (paired)"}
    for m, (d, se) in diff.items():
        paired[m], paired[f"{m} se"] = d, se
    print(f"ials vs implicit  {name}: median time ratio {np.median(ratios):.2f} "
          f"(ours {rows[0]['seconds_per_iteration']:.4f} s/it, implicit "
          f"{rows[1]['seconds_per_iteration']:.4f} s/it)", flush=True)
    for row in rows:
        print(f"ials vs implicit  {name}: {row['library']:10s} " + "  ".join(
            f"{m} {row[m]:.4f} (se {row[m + ' se']:.4f})" for m in METRICS), flush=True)
    print(f"ials vs implicit  {name}: ours - implicit (paired over {n_groups} user groups): "
          + "  ".join(f"{m} {d:+.4f} (se {se:.4f})" for m, (d, se) in diff.items()), flush=True)
    return [*rows, paired]
