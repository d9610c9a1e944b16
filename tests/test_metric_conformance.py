"""Metric conformance: the workbench's ranking metrics against the field's own
implementations on the same ranked lists, to 1e-9 (docs/metrics.md, "Variants").

References: ranx, ir-measures (pytrec_eval, i.e. trec_eval), scikit-learn (ndcg_score,
roc_auc_score, average_precision_score), implicit (ranking_metrics_at_k) and Spark MLlib's
RankingMetrics (where Java is present). Each reference runs on the same lists: a full
ranking of every item per user with distinct scores, so no reference breaks ties its own way.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from workbench.relevance import RankingBatch
from workbench.specs import parse_spec

N_USERS, N_ITEMS = 40, 50
KS = (1, 5, 10, 20)
TOL = 1e-9


def _case():
    """Full rankings (best first), relevant items with grades 1..5 and the scores."""
    rng = np.random.default_rng(24)
    ranked, relevant, grades, scores = [], [], [], []
    for u in range(N_USERS):
        order = rng.permutation(N_ITEMS)
        n_rel = int(rng.integers(1, 25)) if u % 7 else 1  # fewer and more than k
        rel = np.sort(rng.choice(N_ITEMS, n_rel, replace=False))
        ranked.append(order)
        relevant.append(rel.tolist())
        grades.append(rng.integers(1, 6, n_rel).astype(float).tolist())
        row = np.empty(N_ITEMS)
        row[order] = np.linspace(1.0, 0.01, N_ITEMS)  # distinct, descending along the list
        scores.append(row)
    return np.array(ranked), relevant, grades, np.array(scores)


RANKED, RELEVANT, GRADES, SCORES = _case()


def ours(spec: str, *, graded: bool = False) -> np.ndarray:
    metric = parse_spec("metric", spec).build()
    needs = getattr(metric, "needs_scores", False)
    batch = RankingBatch.from_lists(
        RANKED, RELEVANT, grades=GRADES if graded else None, scores=SCORES if needs else None
    )
    return np.asarray(metric.compute(batch), dtype=np.float64)


# -- scikit-learn --------------------------------------------------------------------------
def test_sklearn_ndcg_auc_and_average_precision():
    from sklearn.metrics import average_precision_score, ndcg_score, roc_auc_score

    for k in KS:
        for graded, spec in ((False, f"ndcg@{k}"), (True, f"ndcg@{k} gain=linear")):
            got = ours(spec, graded=graded)
            for u in range(N_USERS):
                truth = np.zeros(N_ITEMS)
                truth[RELEVANT[u]] = GRADES[u] if graded else 1.0
                ref = ndcg_score(truth[None], SCORES[u][None], k=k)
                assert got[u] == pytest.approx(ref, abs=TOL), (spec, u)
    auc = ours("auc")
    ap = ours(f"map@{N_ITEMS}")
    for u in range(N_USERS):
        truth = np.zeros(N_ITEMS)
        truth[RELEVANT[u]] = 1
        if 0 < truth.sum() < N_ITEMS:
            assert auc[u] == pytest.approx(roc_auc_score(truth, SCORES[u]), abs=TOL)
        assert ap[u] == pytest.approx(average_precision_score(truth, SCORES[u]), abs=TOL)


# -- ranx ----------------------------------------------------------------------------------
def _qrels_run(graded: bool):
    qrels = {
        f"u{u}": {
            f"i{i}": int(g) if graded else 1 for i, g in zip(RELEVANT[u], GRADES[u], strict=True)
        }
        for u in range(N_USERS)
    }
    run = {f"u{u}": {f"i{i}": float(SCORES[u][i]) for i in range(N_ITEMS)} for u in range(N_USERS)}
    return qrels, run


RANX = {  # ranx metric -> our spec (same k)
    "ndcg": "ndcg@{k} gain=linear",
    "ndcg_burges": "ndcg@{k} gain=graded",
    "map": "map@{k} denominator=relevant",
    "mrr": "mrr@{k}",
    "precision": "precision@{k}",
    "recall": "recall@{k}",
    "hit_rate": "hitrate@{k}",
}


def test_ranx():
    ranx = pytest.importorskip("ranx")
    qrels, run = _qrels_run(graded=True)
    q, r = ranx.Qrels(qrels), ranx.Run(run)
    for k in KS:
        names = [f"{m}@{k}" for m in RANX]
        values = ranx.evaluate(q, r, names, return_mean=False)
        order = [int(qid[1:]) for qid in q.get_query_ids()]
        for name, template in RANX.items():
            got = ours(template.format(k=k), graded=True)[order]
            np.testing.assert_allclose(values[f"{name}@{k}"], got, rtol=0, atol=TOL, err_msg=name)


# -- ir-measures (pytrec_eval: trec_eval) ---------------------------------------------------
IR = {  # ir-measures measure -> our spec
    "nDCG@{k}": "ndcg@{k} gain=linear",
    "AP@{k}": "map@{k} denominator=relevant",
    "RR@{k}": "mrr@{k}",
    "P@{k}": "precision@{k}",
    "R@{k}": "recall@{k}",
    "Success@{k}": "hitrate@{k}",
}


def test_ir_measures():
    ir = pytest.importorskip("ir_measures")
    pytest.importorskip("pytrec_eval")
    qrels, run = _qrels_run(graded=True)
    q = [ir.Qrel(u, d, rel) for u, docs in qrels.items() for d, rel in docs.items()]
    r = [ir.ScoredDoc(u, d, s) for u, docs in run.items() for d, s in docs.items()]
    for k in KS:
        measures = [ir.parse_measure(m.format(k=k)) for m in IR]
        got_ref = {(str(m.measure), m.query_id): m.value for m in ir.iter_calc(measures, q, r)}
        for measure, template in IR.items():
            mine = ours(template.format(k=k), graded=True)
            name = str(ir.parse_measure(measure.format(k=k)))
            for u in range(N_USERS):
                assert got_ref[(name, f"u{u}")] == pytest.approx(mine[u], abs=TOL), (name, u)


# -- implicit ------------------------------------------------------------------------------
class _FixedLists:
    """A stand-in model for implicit's evaluation: recommends the given lists."""

    def __init__(self, ranked: np.ndarray):
        self.ranked = ranked

    def recommend(self, userid, user_items, N=10, filter_already_liked_items=True, **_):
        ids = self.ranked[np.asarray(userid)][:, :N].astype(np.int32)
        return ids, np.tile(np.arange(N, 0, -1, dtype=np.float32), (len(ids), 1))


def test_implicit_ranking_metrics_at_k():
    pytest.importorskip("implicit")
    import scipy.sparse as sp
    from implicit.evaluation import ranking_metrics_at_k

    rows = np.concatenate([np.full(len(r), u) for u, r in enumerate(RELEVANT)])
    cols = np.concatenate([np.asarray(r) for r in RELEVANT])
    test = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(N_USERS, N_ITEMS))
    train = sp.csr_matrix((N_USERS, N_ITEMS), dtype=np.float32)
    for k in KS:
        ref = ranking_metrics_at_k(_FixedLists(RANKED), train, test, K=k, show_progress=False)
        # implicit pools precision over users: sum of hits / sum of min(k, |rel(u)|)
        hits = ours(f"precision@{k}") * k
        capped = np.minimum(k, [len(r) for r in RELEVANT])
        assert ref["precision"] == pytest.approx(hits.sum() / capped.sum(), abs=TOL)
        per_user = ours(f"precision@{k} denominator=min_k_relevant")
        np.testing.assert_allclose(per_user, hits / capped, rtol=0, atol=TOL)
        assert ref["map"] == pytest.approx(ours(f"map@{k}").mean(), abs=TOL)
        assert ref["ndcg"] == pytest.approx(ours(f"ndcg@{k}").mean(), abs=TOL)


# -- Spark MLlib -----------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime")
def test_spark_ranking_metrics(monkeypatch):
    pytest.importorskip("pyspark")
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.mllib.evaluation import RankingMetrics
    from workbench_spark.session import get_session

    spark = get_session("local[1]", shuffle_partitions=1)
    try:
        pairs = [(RANKED[u].tolist(), list(RELEVANT[u])) for u in range(N_USERS)]
        metrics = RankingMetrics(spark.sparkContext.parallelize(pairs, 1))
        for k in KS:
            assert metrics.precisionAt(k) == pytest.approx(ours(f"precision@{k}").mean(), abs=TOL)
            assert metrics.recallAt(k) == pytest.approx(ours(f"recall@{k}").mean(), abs=TOL)
            assert metrics.ndcgAt(k) == pytest.approx(ours(f"ndcg@{k}").mean(), abs=TOL)
            assert metrics.meanAveragePrecisionAt(k) == pytest.approx(
                ours(f"map@{k}").mean(), abs=TOL
            )
        assert metrics.meanAveragePrecision == pytest.approx(
            ours(f"map@{N_ITEMS} denominator=relevant").mean(), abs=TOL
        )
    finally:
        spark.stop()


def test_map_hits_variant_known_answer():
    """AP@3 of hits at ranks 1 and 3 with 4 relevant items, by each denominator."""
    batch = RankingBatch.from_lists([[0, 9, 1]], [[0, 1, 2, 3]])
    total = 1.0 + 2.0 / 3.0
    for denominator, expected in (("min_k_relevant", total / 3), ("relevant", total / 4),
                                  ("hits", total / 2)):  # fmt: skip
        metric = parse_spec("metric", f"map@3 denominator={denominator}").build()
        assert metric.compute(batch)[0] == pytest.approx(expected, abs=TOL)
    assert parse_spec("metric", "map@3 denominator=hits").build().label == "map@3[denominator=hits]"


def test_precision_and_recall_denominators_known_answer():
    """Top-3 [0, 9, 1]: 2 hits. 4 relevant items: recall 2/4 or capped 2/3; 1 relevant:
    precision 1/3 or 1/min(3, 1)."""
    four = RankingBatch.from_lists([[0, 9, 1]], [[0, 1, 2, 3]])
    one = RankingBatch.from_lists([[0, 9, 1]], [[0]])
    cases = (
        ("recall@3", four, 2 / 4), ("recall@3 denominator=min_k_relevant", four, 2 / 3),
        ("precision@3", four, 2 / 3), ("precision@3", one, 1 / 3),
        ("precision@3 denominator=min_k_relevant", one, 1.0),
        ("precision@3 denominator=min_k_relevant", four, 2 / 3),
    )  # fmt: skip
    for spec, batch, expected in cases:
        got = parse_spec("metric", spec).build().compute(batch)[0]
        assert got == pytest.approx(expected, abs=TOL), spec
