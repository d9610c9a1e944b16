"""ALS and NMF speed next to the reference libraries, side by side in one run (A B A B).

- implicit ALS (``ials``, CG) vs ``implicit``'s CPU ALS: seconds per iteration, same factors,
  same confidence matrix, same threads (numba / implicit threads = ``--threads``, BLAS 1);
  on Last.fm plays and on a synthetic set of ``--synthetic`` interactions.
- explicit ALS (``als``) vs LensKit's BiasedMF (when lenskit is installed), ML-100k.
- zero-filled NMF (``nmf``) vs one direct scikit-learn ``NMF.fit_transform`` call (ML-100k).
- ``--only implicit-ndcg``: ``ials`` vs ``implicit`` at equal settings, time per iteration and
  nDCG@10 / recall@10 of the same fits on a seeded per-user holdout (`benchmarks.als_ndcg`):
  Last.fm plays (all test users) and ``--ndcg-synthetic`` interactions (``--ndcg-iterations``
  iterations, ``--ndcg-sample`` test users); not in the default set (it takes minutes).

Prints one line per measurement and the median ratio (ours / reference; < 1: faster), and
with ``--json`` writes them as records (``kind`` "ratio_speed", see `benchmarks.report`)::

    .venv/bin/python -m benchmarks.bench_als [--repeats 3] [--synthetic 1000000] [--threads 2]
        [--json out.json]
    .venv/bin/python -m benchmarks.bench_als --only implicit-ndcg [--ndcg-synthetic 10000000]

``python -m benchmarks.run als [--full]`` runs it as a suite (results/als.json, rendered in
docs/benchmarks.md).

Quality (nDCG@10, RMSE) on the anchor folds: ``benchmarks/anchor_folds.py --model ...``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from benchmarks.anchor_folds import data_dir
from workbench.data import Interactions

#: Issue 13's speed targets: (ours / reference) at most this.
TARGETS = {"implicit": 1.5, "explicit": 1.0, "nmf": 1.0}


def speed_record(comparison: str, data: str, nnz: int, ours: list[float], theirs: list[float],
                 target: float, **extra: object) -> dict:
    """One ``ratio_speed`` record: seconds per iteration of each repeat and the median ratio
    of the paired repeats (ours / reference)."""
    ratio = float(np.median(np.asarray(ours) / np.asarray(theirs)))
    return {"kind": "ratio_speed", "comparison": comparison, "data": data, "nnz": int(nnz),
            "unit": "s/it", "ours_s": ours, "reference_s": theirs, "median_ratio": ratio,
            "target": f"<= {target:g}", "met": ratio <= target, **extra}  # fmt: skip


def lastfm_plays() -> sp.csr_matrix:
    frame = pd.read_csv(data_dir() / "hetrec2011-lastfm-2k" / "user_artists.dat", sep="\t")
    u, _ = pd.factorize(frame["userID"])
    i, _ = pd.factorize(frame["artistID"])
    return sp.csr_matrix((frame["weight"].to_numpy(np.float32), (u, i)))


def ml100k() -> sp.csr_matrix:
    frame = pd.read_csv(data_dir() / "ml-100k" / "u.data", sep="\t", names=["u", "i", "r", "t"])
    u, _ = pd.factorize(frame["u"])
    i, _ = pd.factorize(frame["i"])
    return sp.csr_matrix((frame["r"].to_numpy(np.float32), (u, i)))


def synthetic(n: int, seed: int = 0) -> sp.csr_matrix:
    """``n`` interactions, MovieLens-like shape (users ~ n/20, items ~ n/100, Zipf items)."""
    rng = np.random.default_rng(seed)
    n_users, n_items = max(n // 20, 100), max(n // 100, 50)
    users = rng.integers(0, n_users, n)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    items = rng.choice(n_items, n, p=pop / pop.sum())
    values = rng.integers(1, 6, n).astype(np.float32)
    m = sp.csr_matrix((values, (users, items)), shape=(n_users, n_items))
    m.sum_duplicates()
    m.data = np.minimum(m.data, 5).astype(np.float32)
    return m


def as_interactions(matrix: sp.csr_matrix, name: str) -> Interactions:
    """The stored entries of a users x items matrix as implicit interactions."""
    coo = matrix.tocoo()
    return Interactions.from_arrays(coo.row, coo.col, coo.data, kind="implicit", name=name)


def bench_implicit_ndcg(args: argparse.Namespace) -> list[dict]:
    """`benchmarks.als_ndcg.compare` on Last.fm plays (log confidence, as the speed runs) and
    on the synthetic set (linear confidence); records of kind "equal_settings"."""
    from benchmarks.als_ndcg import compare

    common = {"factors": args.factors, "threads": args.threads, "repeats": args.repeats}
    out = []
    rows = compare("lastfm", as_interactions(lastfm_plays(), "lastfm"), confidence="log",
                   iterations=args.iterations, **common)  # fmt: skip
    out += [{"kind": "equal_settings", "data": "Last.fm plays", "iterations": args.iterations,
             "test_users": "all", **row} for row in rows]  # fmt: skip
    n = args.ndcg_synthetic
    name = f"synth-{n // 1_000_000}M" if n >= 1_000_000 else f"synth-{n // 1000}k"
    rows = compare(name, as_interactions(synthetic(n), "synthetic"), confidence="linear",
                   iterations=args.ndcg_iterations, sample_users=args.ndcg_sample, batch=64,
                   **common)  # fmt: skip
    out += [{"kind": "equal_settings", "data": f"synthetic {name}",
             "iterations": args.ndcg_iterations, "test_users": args.ndcg_sample, **row}
            for row in rows]  # fmt: skip
    return out


def per_iteration_implicit(conf: sp.csr_matrix, factors: int, iters: int, threads: int):
    """(ours s/it, implicit s/it) from one fit each."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits
    from workbench_als import solvers

    from workbench.threads import limited_threads

    cfg = solvers.ImplicitConfig(n_factors=factors, n_iterations=iters, compute_loss=False)
    with limited_threads(threads):
        started = time.perf_counter()
        solvers.fit_implicit(conf, cfg)
        ours = (time.perf_counter() - started) / iters
    ref = AlternatingLeastSquares(
        factors=factors, iterations=iters, regularization=cfg.reg, alpha=1.0,
        num_threads=threads, random_state=0, calculate_training_loss=False,
    )
    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        ref.fit(conf, show_progress=False)
        theirs = (time.perf_counter() - started) / iters
    return ours, theirs


def bench_implicit(name: str, raw: sp.csr_matrix, args: argparse.Namespace) -> dict:
    from workbench_als import solvers

    csr = solvers.clean_csr(raw)
    conf = solvers.with_confidence(csr, 1.0, "log" if name == "lastfm" else "linear", 1.0)
    # warm-up: numba compilation (cached) and page-in, not timed
    per_iteration_implicit(conf[:200], 8, 1, args.threads)
    ratios, times = [], ([], [])
    for rep in range(args.repeats):
        ours, theirs = per_iteration_implicit(conf, args.factors, args.iterations, args.threads)
        ratios.append(ours / theirs)
        times[0].append(ours)
        times[1].append(theirs)
        print(f"ials vs implicit  {name:10s} nnz={conf.nnz:>9,d} rep {rep}: "
              f"ours {ours:.4f} s/it  implicit {theirs:.4f} s/it  ratio {ours / theirs:.2f}",
              flush=True)
    print(f"ials vs implicit  {name}: median ratio {np.median(ratios):.2f}", flush=True)
    return speed_record(f"`ials` (CG, {args.factors} factors) vs `implicit` CPU ALS", name,
                        conf.nnz, *times, TARGETS["implicit"], iterations=args.iterations,
                        threads=args.threads)


def bench_nmf(raw: sp.csr_matrix, args: argparse.Namespace) -> list[dict]:
    """Per iteration (30 iterations, tol=0, 50 components, the same nndsvda start): ours as the
    model runs it (one BLAS thread), scikit-learn called directly (its default threads) and
    scikit-learn under one BLAS thread; then both with their default stopping rules."""
    from sklearn.decomposition import NMF as SkNMF
    from threadpoolctl import threadpool_limits
    from workbench_nmf import solvers

    from workbench.threads import limited_threads

    iters = 30

    def sklearn_fit(max_iter: int, tol: float) -> tuple[float, int]:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = SkNMF(n_components=50, random_state=0, max_iter=max_iter, tol=tol)
            sk.fit_transform(raw)
        return time.perf_counter() - started, sk.n_iter_

    def ours_fit(cfg: solvers.ZeroFilledConfig) -> tuple[float, int]:
        with limited_threads(None):
            started = time.perf_counter()
            _, _, losses = solvers.fit_zero_filled(raw, cfg)
        return time.perf_counter() - started, len(losses)

    ratios, ratios_1, times = [], [], ([], [], [])
    for rep in range(args.repeats):
        ours, _ = ours_fit(solvers.ZeroFilledConfig(n_components=50, max_iter=iters, tol=0.0))
        theirs, _ = sklearn_fit(iters, 0.0)
        with threadpool_limits(1, "blas"):
            theirs_1, _ = sklearn_fit(iters, 0.0)
        ratios.append(ours / theirs)
        ratios_1.append(ours / theirs_1)
        for t, x in zip(times, (ours, theirs, theirs_1), strict=True):
            t.append(x / iters)
        print(f"nmf vs sklearn    ml-100k rep {rep}: {iters} it: ours {ours / iters:.4f} s/it  "
              f"sklearn {theirs / iters:.4f} s/it (1 BLAS thread: {theirs_1 / iters:.4f})  "
              f"ratio {ratios[-1]:.2f} ({ratios_1[-1]:.2f})", flush=True)
    print(f"nmf vs sklearn: median ratio {np.median(ratios):.2f} "
          f"(vs sklearn on one BLAS thread {np.median(ratios_1):.2f})", flush=True)
    ours, n_ours = ours_fit(solvers.ZeroFilledConfig(n_components=50))
    theirs, n_theirs = sklearn_fit(200, 1e-4)
    print(f"nmf vs sklearn    default stopping: ours {ours:.2f} s ({n_ours} it)  "
          f"sklearn {theirs:.2f} s ({n_theirs} it)", flush=True)
    name = f"`nmf` (as the model runs it) vs `sklearn.decomposition.NMF`, 50 components, {iters} it"
    return [
        speed_record(name, "ml-100k", raw.nnz, times[0], times[1], TARGETS["nmf"]),
        speed_record("same, scikit-learn held to one BLAS thread", "ml-100k", raw.nnz, times[0],
                     times[2], TARGETS["nmf"]),
        {"kind": "end_to_end", "comparison": "`nmf` vs scikit-learn NMF, each with its default "
         "stopping rule", "data": "ml-100k", "ours_s": ours, "ours_iterations": n_ours,
         "reference_s": theirs, "reference_iterations": n_theirs},
    ]  # fmt: skip


def _lenskit_fit(raw: sp.csr_matrix, factors: int, iters: int) -> float:
    from lenskit.als import BiasedMFScorer
    from lenskit.data import from_interactions_df

    coo = raw.tocoo()
    frame = pd.DataFrame({"user_id": coo.row, "item_id": coo.col, "rating": coo.data})
    data = from_interactions_df(frame, user_col="user_id", item_col="item_id",
                                rating_col="rating")
    model = BiasedMFScorer(embedding_size=factors, epochs=iters)
    started = time.perf_counter()
    model.train(data)
    return time.perf_counter() - started


def bench_explicit(name: str, raw: sp.csr_matrix, args: argparse.Namespace) -> dict:
    """Seconds per iteration (fit time / iterations), 50 factors, same threads."""
    import torch
    from workbench_als import solvers

    from workbench.threads import limited_threads

    try:
        import lenskit.als  # noqa: F401
    except ImportError:
        print("als vs lenskit: lenskit is not installed (skipped)", flush=True)
        return {"kind": "missing", "library": "lenskit", "why": "not installed: `als` vs "
                "LensKit BiasedMF skipped"}  # fmt: skip
    torch.set_num_threads(args.threads)
    ratings = solvers.as_csr(raw)
    cfg = solvers.ExplicitConfig(n_factors=50, n_iterations=args.iterations, reg=0.12)
    with limited_threads(args.threads):
        solvers.fit_explicit(ratings[:300], solvers.ExplicitConfig(n_factors=4, n_iterations=1))
    _lenskit_fit(raw[:300], 4, 1)  # warm-up of both (compilation), not timed
    ratios, times = [], ([], [])
    for rep in range(args.repeats):
        with limited_threads(args.threads):
            started = time.perf_counter()
            solvers.fit_explicit(ratings, cfg)
            ours = (time.perf_counter() - started) / args.iterations
        theirs = _lenskit_fit(raw, 50, args.iterations) / args.iterations
        ratios.append(ours / theirs)
        times[0].append(ours)
        times[1].append(theirs)
        print(f"als vs lenskit    {name:10s} nnz={raw.nnz:>9,d} rep {rep}: ours {ours:.4f} s/it  "
              f"lenskit {theirs:.4f} s/it  ratio {ours / theirs:.2f}", flush=True)
    print(f"als vs lenskit    {name}: median ratio {np.median(ratios):.2f}", flush=True)
    return speed_record("`als` (CG, 50 factors) vs LensKit `BiasedMFScorer` (50)", name,
                        raw.nnz, *times, TARGETS["explicit"], iterations=args.iterations,
                        threads=args.threads)


def records(args: argparse.Namespace) -> list[dict]:
    """Run the selected comparisons (``args.only``; all by default) and return their records."""
    only = set(args.only or ["implicit", "nmf", "explicit"])
    synth = f"synth-{args.synthetic // 1000}k"
    out: list[dict] = []
    if "implicit" in only:
        out.append(bench_implicit("lastfm", lastfm_plays(), args))
        out.append(bench_implicit(synth, synthetic(args.synthetic), args))
    if "explicit" in only:
        out.append(bench_explicit("ml-100k", ml100k(), args))
        if out[-1]["kind"] != "missing":
            out.append(bench_explicit(synth, synthetic(args.synthetic), args))
    if "nmf" in only:
        out += bench_nmf(ml100k(), args)
    if "implicit-ndcg" in only:
        out += bench_implicit_ndcg(args)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--synthetic", type=int, default=1_000_000)
    parser.add_argument("--ndcg-synthetic", type=int, default=10_000_000)
    parser.add_argument("--ndcg-iterations", type=int, default=3)
    parser.add_argument("--ndcg-sample", type=int, default=5000)
    parser.add_argument(
        "--only", choices=["implicit", "nmf", "explicit", "implicit-ndcg"], action="append"
    )
    parser.add_argument("--json", help="write the records here")
    args = parser.parse_args()
    found = records(args)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"records": found}, fh, indent=1)


if __name__ == "__main__":
    main()
