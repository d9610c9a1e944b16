"""Property tests (hypothesis): bounds, monotonicity in k, perfect and reversed rankings."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from workbench_metrics.beyond import Coverage, Personalisation
from workbench_metrics.ranking import AUC, MAP, MRR, NDCG, HitRate, Precision, Recall

from workbench.metric import ListContext, RankingBatch
from workbench.model import top_k

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def problems(draw, max_users: int = 6, max_items: int = 12):
    """Scores (some tied, some excluded) and graded relevance with >= 1 relevant per user."""
    n_users = draw(st.integers(1, max_users))
    n_items = draw(st.integers(2, max_items))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    levels = draw(st.integers(2, 20))  # few levels -> many ties
    scores = rng.integers(0, levels, (n_users, n_items)).astype(np.float64)
    grades = rng.integers(1, 6, (n_users, n_items)) * (rng.random((n_users, n_items)) < 0.4)
    first = rng.integers(0, n_items, n_users)
    grades[np.arange(n_users), first] = rng.integers(1, 6, n_users)
    excluded = (rng.random((n_users, n_items)) < 0.2) & (grades == 0)
    scores[excluded] = -np.inf
    return scores, grades


def make_batch(scores: np.ndarray, grades: np.ndarray, k: int) -> RankingBatch:
    top, _ = top_k(scores.astype(np.float32), np.arange(scores.shape[1]), k)
    relevant = [np.flatnonzero(g).tolist() for g in grades]
    grade_lists = [g[g > 0].astype(float).tolist() for g in grades]
    n_cand = np.isfinite(scores).sum(axis=1)
    return RankingBatch.from_lists(
        top, relevant, grades=grade_lists, n_candidates=n_cand, scores=scores
    )


RANKING = [Precision, Recall, NDCG, MAP, MRR, HitRate]


@SETTINGS
@given(problems(), st.integers(1, 15))
def test_every_ranking_metric_is_between_zero_and_one(problem, k):
    scores, grades = problem
    batch = make_batch(scores, grades, k)
    for cls in RANKING:
        values = cls(k=k).compute(batch)
        assert values.shape == (len(scores),)
        assert np.all((values >= -1e-12) & (values <= 1 + 1e-12)), cls.name
    graded = NDCG(k=k, gain="graded").compute(batch)
    assert np.all((graded >= 0) & (graded <= 1 + 1e-12))
    auc = AUC().compute(batch)
    defined = auc[~np.isnan(auc)]
    assert np.all((defined >= 0) & (defined <= 1))


@SETTINGS
@given(problems(), st.integers(1, 14))
def test_hits_recall_hit_rate_and_mrr_never_decrease_with_k(problem, k):
    scores, grades = problem
    small, large = make_batch(scores, grades, k), make_batch(scores, grades, k + 1)
    assert np.all(Precision(k=k).compute(small) * k <= Precision(k=k + 1).compute(large) * (k + 1))
    for cls in (Recall, HitRate, MRR):
        assert np.all(cls(k=k).compute(small) <= cls(k=k + 1).compute(large) + 1e-12), cls.name


@SETTINGS
@given(problems(), st.integers(1, 15))
def test_precision_times_k_counts_hits_and_padding_never_hits(problem, k):
    scores, grades = problem
    batch = make_batch(scores, grades, k)
    hits = Precision(k=k).compute(batch) * k
    np.testing.assert_allclose(hits, np.round(hits))
    assert not batch.hits[batch.items < 0].any()
    assert np.all(hits <= np.minimum(np.isfinite(scores).sum(axis=1), k))


@SETTINGS
@given(problems(), st.integers(1, 15))
def test_a_perfect_ranking_scores_one(problem, k):
    _, grades = problem
    perfect = np.where(grades > 0, 10.0 + grades, 0.0)  # relevant first, best grade first
    batch = make_batch(perfect, grades, k)
    n_rel = (grades > 0).sum(axis=1)
    np.testing.assert_allclose(Precision(k=k).compute(batch), np.minimum(n_rel, k) / k)
    for metric in (NDCG(k=k), NDCG(k=k, gain="graded"), MAP(k=k), MRR(k=k), HitRate(k=k)):
        np.testing.assert_allclose(metric.compute(batch), 1.0)
    auc = AUC().compute(batch)
    np.testing.assert_allclose(auc[~np.isnan(auc)], 1.0)


@SETTINGS
@given(problems())
def test_auc_of_reversed_scores_is_one_minus_auc(problem):
    scores, grades = problem
    finite = np.isfinite(scores)
    reversed_ = np.where(finite, -scores, -np.inf)
    a = AUC().compute(make_batch(scores, grades, 3))
    b = AUC().compute(make_batch(reversed_, grades, 3))
    defined = ~np.isnan(a)
    np.testing.assert_allclose(a[defined] + b[defined], 1.0)


@st.composite
def lists(draw):
    n_items = draw(st.integers(3, 15))
    n_users = draw(st.integers(2, 8))
    k = draw(st.integers(1, n_items))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    rows = [rng.permutation(n_items)[:k] for _ in range(n_users)]
    return np.array(rows), n_items, k


@SETTINGS
@given(lists())
def test_coverage_and_personalisation_bounds_and_user_order(problem):
    top, n_items, k = problem
    ctx = ListContext(n_items=n_items, item_counts=np.ones(n_items), n_train_users=3)
    cov = Coverage(k=k).compute(top, ctx)
    pers = Personalisation(k=k).compute(top, ctx)
    assert 0 < cov <= 1 and -1e-12 <= pers <= 1 + 1e-12
    shuffled = top[::-1]
    assert Coverage(k=k).compute(shuffled, ctx) == cov
    assert abs(Personalisation(k=k).compute(shuffled, ctx) - pers) < 1e-12
    same = np.repeat(top[:1], len(top), axis=0)
    assert abs(Personalisation(k=k).compute(same, ctx)) < 1e-12
