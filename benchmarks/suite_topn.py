"""The top-N baselines (plugin `topn`) next to their references on the ML-100k anchor folds.

- accuracy (kind ``accuracy``): ``ease``, ``itemknn`` (cosine, BM25), ``userknn``, ``slim``,
  ``bpr`` and ``random`` at their defaults, and at the references' settings next to the
  references: a plain numpy EASE, `implicit`'s ``CosineRecommender``/``BM25Recommender``
  and ``BayesianPersonalizedRanking``. Quick mode: fold 0; full mode: all five folds.
- speed (kind ``topn_speed``): fit seconds of ours and the reference on fold 0's training
  part, runs alternated (A B A B), medians of wall time *and* of CPU time of the process
  (``time.process_time``: what the fit cost, less sensitive to the shared machine's load),
  with the nDCG@10 of the last fit of each. `implicit` runs with ``num_threads=1`` (ours are
  single-threaded too: ``bpr`` always, ``itemknn`` is run with one numba thread here); its
  all-cores figure is a separate row.

Settings that are "the same": implicit's ``K`` neighbours include the item itself, so
``itemknn k=K-1`` keeps the same neighbours; implicit's BPR has ``factors`` plus one bias
column, ours ``n_factors`` plus an item bias. Implicit draws BPR negatives from the
interactions (popularity-weighted), ours uniformly from the items (Rendle's LearnBPR).
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks import evalkit, refs
from benchmarks.suite_accuracy import ours, splits
from benchmarks.suites import Context, Record, suite
from workbench.data import Interactions
from workbench.splits import Split

Scores = Callable[[np.ndarray], np.ndarray]
#: reference label -> fit(train) -> (scores of a block of users, fit seconds)
Reference = Callable[[Interactions], tuple[Scores, float]]


def _binary(train: Interactions) -> Any:
    m = train.csr().astype(np.float32).tocsr()
    m.data[:] = 1.0
    return m


def numpy_ease(reg: float) -> Reference:
    """Steck's EASE in plain numpy/scipy: a dense Gram matrix, ``np.linalg.inv`` on one BLAS
    thread (as ours at its default ``blas_threads=1``)."""

    def fit(train: Interactions) -> tuple[Scores, float]:
        from threadpoolctl import threadpool_limits

        x = _binary(train).astype(np.float64)
        started = time.perf_counter()
        g = (x.T @ x).toarray()
        g[np.diag_indices_from(g)] += reg
        with threadpool_limits(limits=1, user_api="blas"):
            p = np.linalg.inv(g)
        b = p / -np.diag(p)
        b[np.diag_indices_from(b)] = 0.0
        seconds = time.perf_counter() - started
        return (lambda users: np.asarray(x[users] @ b)), seconds

    return fit


def implicit_knn(kind: str, k: int, threads: int = 1) -> Reference:
    """implicit's item-item recommender on the rating values (as our ``binary=false``)."""

    def fit(train: Interactions) -> tuple[Scores, float]:
        nn = refs._import("implicit.nearest_neighbours", "implicit")
        cls = {"cosine": nn.CosineRecommender, "bm25": nn.BM25Recommender}[kind]
        model = cls(K=k, num_threads=threads)
        m = train.csr().astype(np.float32).tocsr()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its "expects CSR" notice about its own transpose
            started = time.perf_counter()
            model.fit(m, show_progress=False)
            seconds = time.perf_counter() - started
        sim = model.similarity.tocsr()
        return (lambda users: (m[users] @ sim).toarray()), seconds

    return fit


def implicit_bpr(threads: int = 1, **params: Any) -> Reference:
    def fit(train: Interactions) -> tuple[Scores, float]:
        bpr = refs._import("implicit.cpu.bpr", "implicit")
        model = bpr.BayesianPersonalizedRanking(num_threads=threads, random_state=0, **params)
        m = _binary(train)
        started = time.perf_counter()
        model.fit(m, show_progress=False)
        seconds = time.perf_counter() - started
        users_f, items_f = np.asarray(model.user_factors), np.asarray(model.item_factors)
        return (lambda users: users_f[users] @ items_f.T), seconds

    return fit


def _ours_fit(spec: str) -> Reference:
    def fit(train: Interactions) -> tuple[Scores, float]:
        from workbench.experiments.resolve import resolve_models

        model = resolve_models([spec])[0].model
        started = time.perf_counter()
        model.fit(train)
        seconds = time.perf_counter() - started
        items = np.arange(train.n_items)

        def scores(users: np.ndarray) -> np.ndarray:
            pairs = model.predict(np.repeat(users, len(items)), np.tile(items, len(users)))
            return pairs.reshape(len(users), -1)

        return scores, seconds

    return fit


def _ndcg(scores: Scores, split: Split) -> float:
    return evalkit.ranking_metrics(scores, split.train, split.test)["ndcg@10"]


def alternated(
    split: Split, systems: dict[str, Reference], repeat: int
) -> dict[str, dict[str, Any]]:
    """Fit each system ``1 + repeat`` times, alternating; the first fit is the warm-up.
    Medians of wall and CPU seconds (the whole fit call) and the last fit's nDCG@10."""
    wall: dict[str, list[float]] = {n: [] for n in systems}
    cpu: dict[str, list[float]] = {n: [] for n in systems}
    last: dict[str, Scores] = {}
    for _ in range(1 + repeat):
        for name, fit in systems.items():
            c0, w0 = time.process_time(), time.perf_counter()
            last[name], _ = fit(split.train)
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return {
        n: {
            "wall_s": statistics.median(wall[n][1:]),
            "cpu_s": statistics.median(cpu[n][1:]),
            "warmup_s": wall[n][0] - statistics.median(wall[n][1:]),
            "ndcg@10": _ndcg(last[n], split),
        }
        for n in systems
    }


def speed_plan(ctx: Context) -> list[tuple[str, str, str, Reference, str]]:
    """(comparison, our spec, reference label, reference, done-when note); an empty spec
    reuses the previous row's figures of ours (the reference alone is fitted)."""
    if ctx.tiny:
        return [("EASE", "ease reg=10", "numpy EASE", numpy_ease(10.0), "")]
    bpr = {"factors": 100, "learning_rate": 0.01, "regularization": 0.01, "iterations": 100}
    ours_bpr = "bpr n_factors=100 lr=0.01 reg=0.01 reg_bias=0.01 n_epochs=100"
    return [
        ("EASE lambda 500", "ease", "numpy EASE (np.linalg.inv)", numpy_ease(500.0), ""),
        ("item-kNN cosine, 20 neighbours", "itemknn k=19 binary=false",
         "implicit CosineRecommender K=20, 1 thread", implicit_knn("cosine", 20),
         "done when nDCG and fit time within 1.0x of implicit's"),
        ("item-kNN BM25, 20 neighbours", "itemknn k=19 binary=false similarity=bm25",
         "implicit BM25Recommender K=20, 1 thread", implicit_knn("bm25", 20),
         "done when nDCG and fit time within 1.0x of implicit's"),
        ("item-kNN cosine, 100 neighbours", "itemknn k=99 binary=false",
         "implicit CosineRecommender K=100, 1 thread", implicit_knn("cosine", 100), ""),
        ("BPR, implicit's defaults", ours_bpr,
         "implicit BPR (100 factors, lr 0.01, reg 0.01, 100 it.), 1 thread",
         implicit_bpr(**bpr), "done when nDCG >= implicit's and fit time <= 1.0x"),
        ("BPR, implicit's defaults", "",
         "implicit BPR, all cores (num_threads=0)", implicit_bpr(threads=0, **bpr),
         "implicit's parallel figure (Hogwild: not reproducible); ours: the row above"),
    ]  # fmt: skip


def speed_records(ctx: Context, split: Split, data: str) -> list[Record]:
    import numba

    records: list[Record] = []
    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # ours on one thread, as implicit num_threads=1
    o: dict[str, Any] = {}
    try:
        for comparison, spec, label, reference, note in speed_plan(ctx):
            systems = {"ours": _ours_fit(spec), "ref": reference} if spec else {"ref": reference}
            try:
                res = alternated(split, systems, ctx.repeat)
            except refs.Missing as exc:
                records.append({"kind": "missing", "library": label, "why": str(exc)})
                continue
            o, r = res.get("ours", o), res["ref"]
            spec = spec or records[-1]["ours"]
            row = {
                "kind": "topn_speed", "comparison": comparison, "data": data,
                "ours": spec, "reference": label,
                "ours_wall_s": round(o["wall_s"], 4), "ref_wall_s": round(r["wall_s"], 4),
                "wall ours/ref": round(o["wall_s"] / r["wall_s"], 3),
                "ours_cpu_s": round(o["cpu_s"], 4), "ref_cpu_s": round(r["cpu_s"], 4),
                "cpu ours/ref": round(o["cpu_s"] / r["cpu_s"], 3),
                "ours_ndcg@10": round(o["ndcg@10"], 4), "ref_ndcg@10": round(r["ndcg@10"], 4),
                "ours_warmup_s": round(o["warmup_s"], 3), "runs": ctx.repeat, "note": note,
            }  # fmt: skip
            records.append(row)
            print(f"  {comparison:34s} ours {o['wall_s']:7.3f} s (cpu {o['cpu_s']:7.3f}) "
                  f"nDCG {o['ndcg@10']:.4f} | {label[:28]:28s} {r['wall_s']:7.3f} s "
                  f"(cpu {r['cpu_s']:7.3f}) nDCG {r['ndcg@10']:.4f}", flush=True)  # fmt: skip
    finally:
        numba.set_num_threads(threads)
    return records


#: Our models at their defaults (and the references' settings), for the accuracy table.
DEFAULTS = ["ease", "itemknn", "itemknn similarity=bm25", "itemknn similarity=tfidf",
            "userknn", "bpr", "random", "popularity"]  # fmt: skip
#: Named only in full mode (one ElasticNet per item: minutes on a busy machine).
SLOW = ["slim"]


def accuracy_records(ctx: Context, split_list: list[Split], data: str) -> list[Record]:
    specs = ["ease reg=10", "itemknn k=10", "bpr n_epochs=2"] if ctx.tiny else DEFAULTS
    if not ctx.tiny and not ctx.quick:
        specs = specs + SLOW
    records: list[Record] = []
    for spec in specs:
        base = {"kind": "accuracy", "data": data, "folds": len(split_list), "model": spec}
        with warnings.catch_warnings():  # nanmean of RMSE for a ranking model: NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            scores = ours(spec, split_list, evalkit.METRICS)
        records.append({**base, "library": "workbench", "setting": "defaults", **scores})
        print(f"  {spec:28s} nDCG@10 {scores['ndcg@10']:.4f}  fit {scores['fit_s']:.2f} s",
              flush=True)  # fmt: skip
    return records


@suite("topn")
def topn(ctx: Context) -> list[Record]:
    data, split_list = splits(ctx)
    records = accuracy_records(ctx, split_list, data)
    records += speed_records(ctx, split_list[0], f"{data}, fold 0")
    return records
