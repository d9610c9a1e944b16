"""Ranking and rating metrics: hand-computed cases, edge cases, scikit-learn references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, ndcg_score, roc_auc_score
from workbench_metrics.ranking import AUC, MAP, MRR, NDCG, HitRate, Precision, Recall
from workbench_metrics.rating import MAE, RMSE

from workbench.metric import RankingBatch
from workbench.model import top_k
from workbench.specs import parse_spec


def lg(i: int) -> float:
    """The discount of rank i: 1 / log2(i + 1)."""
    return 1.0 / math.log2(i + 1)


# -- hand-computed ----------------------------------------------------------------------------
# user 0 ranks items 1..5; relevant: 2 (rank 2), 5 (rank 5) and 9 (not in the list)
# user 1 ranks 7, 8, 3; relevant: 7 (rank 1)
LISTS = [[1, 2, 3, 4, 5], [7, 8, 3, -1, -1]]
RELEVANT = [[2, 5, 9], [7]]


@pytest.fixture
def batch() -> RankingBatch:
    return RankingBatch.from_lists(LISTS, RELEVANT, grades=[[5, 4, 4], [3]])


def test_precision_divides_by_k_even_for_short_lists(batch):
    np.testing.assert_allclose(Precision(k=5).compute(batch), [2 / 5, 1 / 5])
    np.testing.assert_allclose(Precision(k=2).compute(batch), [1 / 2, 1 / 2])


def test_recall_divides_by_the_number_of_relevant_items(batch):
    np.testing.assert_allclose(Recall(k=5).compute(batch), [2 / 3, 1.0])
    np.testing.assert_allclose(Recall(k=1).compute(batch), [0.0, 1.0])


def test_ndcg_binary_hand_computed(batch):
    dcg0 = lg(2) + lg(5)
    idcg0 = lg(1) + lg(2) + lg(3)  # min(k, |rel|) = 3 ideal items
    np.testing.assert_allclose(NDCG(k=5).compute(batch), [dcg0 / idcg0, 1.0])
    # k=2: DCG = 1/log2(3); IDCG over min(2, 3) = 2 items
    np.testing.assert_allclose(NDCG(k=2).compute(batch)[0], lg(2) / (lg(1) + lg(2)))


def test_ndcg_graded_uses_two_to_the_rating_minus_one(batch):
    dcg0 = 31 * lg(2) + 15 * lg(5)
    idcg0 = 31 * lg(1) + 15 * lg(2) + 15 * lg(3)
    np.testing.assert_allclose(NDCG(k=5, gain="graded").compute(batch), [dcg0 / idcg0, 1.0])


def test_map_hand_computed(batch):
    # user 0: precision@2 = 1/2 and precision@5 = 2/5 at the hits, over min(5, 3) = 3
    np.testing.assert_allclose(MAP(k=5).compute(batch), [(1 / 2 + 2 / 5) / 3, 1.0])
    np.testing.assert_allclose(MAP(k=1).compute(batch), [0.0, 1.0])


def test_mrr_and_hit_rate(batch):
    np.testing.assert_allclose(MRR(k=5).compute(batch), [1 / 2, 1.0])
    np.testing.assert_allclose(MRR(k=1).compute(batch), [0.0, 1.0])
    np.testing.assert_allclose(HitRate(k=5).compute(batch), [1.0, 1.0])
    np.testing.assert_allclose(HitRate(k=1).compute(batch), [0.0, 1.0])


def test_auc_hand_computed_with_ties_and_excluded_items():
    # candidates 0..4 (5 is excluded); relevant 1 and 3
    scores = np.array([[0.9, 0.5, 0.5, 0.1, 0.3, -np.inf]])
    b = RankingBatch.from_lists([[0]], [[1, 3]], scores=scores)
    # negatives: 0 (0.9), 2 (0.5), 4 (0.3). Item 1 (0.5) loses to 0, ties 2, beats 4:
    # 1.5 of 3 pairs; item 3 (0.1) beats none: 0 of 3
    np.testing.assert_allclose(AUC().compute(b), [1.5 / 6])


def test_rmse_and_mae_hand_computed():
    truth = np.array([1.0, 3.0, 5.0])
    pred = np.array([2.0, 3.0, 3.0])
    assert RMSE().compute(truth, pred) == pytest.approx(math.sqrt((1 + 0 + 4) / 3))
    assert MAE().compute(truth, pred) == pytest.approx(1.0)
    assert math.isnan(RMSE().compute(np.empty(0), np.empty(0)))


# -- edge cases --------------------------------------------------------------------------------
def test_padding_is_never_a_hit_even_against_item_zero():
    b = RankingBatch.from_lists([[-1, -1, -1], [0, -1, -1]], [[0], [0]])
    assert b.hits.tolist() == [[False, False, False], [True, False, False]]
    np.testing.assert_allclose(Precision(k=3).compute(b), [0.0, 1 / 3])


def test_k_larger_than_the_catalogue():
    # 3 items in the catalogue, k = 10: the list holds 3 items and 7 pads
    b = RankingBatch.from_lists([[2, 0, 1]], [[0, 1]], n_candidates=[3])
    assert Precision(k=10).compute(b)[0] == pytest.approx(2 / 10)
    assert Recall(k=10).compute(b)[0] == pytest.approx(1.0)
    assert NDCG(k=10).compute(b)[0] == pytest.approx((lg(2) + lg(3)) / (lg(1) + lg(2)))
    assert MAP(k=10).compute(b)[0] == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_k_beyond_the_stored_lists_keeps_the_ideal_ranking():
    # lists of 2, five relevant items, graded nDCG@10: IDCG over min(10, 5) = 5 items
    b = RankingBatch.from_lists([[0, 9]], [[0, 1, 2, 3, 4]], grades=[[1, 1, 1, 1, 1]])
    idcg = sum(lg(i) for i in range(1, 6))
    assert NDCG(k=10, gain="graded").compute(b)[0] == pytest.approx(lg(1) / idcg)
    assert NDCG(k=10).compute(b)[0] == pytest.approx(lg(1) / idcg)


def test_metrics_read_only_their_prefix_of_a_longer_batch():
    b = RankingBatch.from_lists([[5, 6, 7, 8]], [[8]])
    assert Precision(k=3).compute(b)[0] == 0.0
    assert Precision(k=4).compute(b)[0] == 0.25
    assert HitRate(k=3).compute(b)[0] == 0.0


def test_auc_undefined_without_negatives():
    scores = np.array([[0.3, 0.2, -np.inf]])
    b = RankingBatch.from_lists([[0, 1]], [[0, 1]], scores=scores)
    assert np.isnan(AUC().compute(b)[0])


def test_auc_refuses_a_batch_without_scores(batch):
    with pytest.raises(ValueError, match="score rows"):
        AUC().compute(batch)


def test_duplicate_relevant_items_are_refused():
    with pytest.raises(ValueError, match="twice"):
        RankingBatch.from_lists([[1]], [[1, 1]])


# -- independent references (scikit-learn) on random data --------------------------------------
def random_problem(seed: int, n_users: int = 40, n_items: int = 30, ties: bool = False):
    rng = np.random.default_rng(seed)
    scores = rng.random((n_users, n_items))
    if ties:
        scores = np.round(scores, 1)
    grades = rng.integers(1, 6, (n_users, n_items)) * (rng.random((n_users, n_items)) < 0.25)
    grades[np.arange(n_users), rng.integers(0, n_items, n_users)] = rng.integers(1, 6, n_users)
    return scores, grades


def batch_of(scores: np.ndarray, grades: np.ndarray, k: int, with_scores: bool = False):
    top, _ = top_k(scores.astype(np.float32), np.arange(scores.shape[1]), k)
    relevant = [np.flatnonzero(g).tolist() for g in grades]
    grade_lists = [g[g > 0].astype(float).tolist() for g in grades]
    return RankingBatch.from_lists(
        top, relevant, grades=grade_lists, scores=scores if with_scores else None
    )


@pytest.mark.parametrize("k", [1, 5, 10, 30])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ndcg_matches_sklearn(k, seed):
    scores, grades = random_problem(seed)
    b = batch_of(scores, grades, k)
    ours = NDCG(k=k).compute(b)
    binary = (grades > 0).astype(float)
    ref = [ndcg_score(binary[[u]], scores[[u]], k=k) for u in range(len(scores))]
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)
    graded = NDCG(k=k, gain="graded").compute(b)
    gains = np.where(grades > 0, 2.0**grades - 1, 0.0)
    ref = [ndcg_score(gains[[u]], scores[[u]], k=k) for u in range(len(scores))]
    np.testing.assert_allclose(graded, ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_map_over_the_full_ranking_matches_average_precision(seed):
    scores, grades = random_problem(seed)
    n_items = scores.shape[1]
    ours = MAP(k=n_items).compute(batch_of(scores, grades, n_items))
    ref = [average_precision_score(grades[u] > 0, scores[u]) for u in range(len(scores))]
    np.testing.assert_allclose(ours, ref, rtol=1e-9)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_roc_auc_score_with_ties_and_exclusions(seed, ties):
    scores, grades = random_problem(seed, ties=ties)
    rng = np.random.default_rng(seed + 100)
    excluded = (rng.random(scores.shape) < 0.2) & (grades == 0)
    masked = np.where(excluded, -np.inf, scores)
    ours = AUC().compute(batch_of(masked, grades, 5, with_scores=True))
    ref = []
    for u in range(len(scores)):
        keep = ~excluded[u]
        y = grades[u][keep] > 0
        ref.append(roc_auc_score(y, scores[u][keep]) if 0 < y.sum() < len(y) else np.nan)
    np.testing.assert_allclose(ours, ref, rtol=1e-9)


# -- names -----------------------------------------------------------------------------------
def test_labels_and_specs_from_the_cli():
    assert parse_spec("metric", "ndcg@10").build().label == "ndcg@10"
    assert parse_spec("metric", "precision@5").build().label == "precision@5"
    assert parse_spec("metric", "hit_rate@3").build().label == "hitrate@3"
    assert parse_spec("metric", "ndcg@10 gain=graded").build().label == "ndcg@10[gain=graded]"
    assert parse_spec("metric", "rmse").build().label == "rmse"
    assert parse_spec("metric", "auc").build().label == "auc"
    assert parse_spec("metric", "coverage@20").build().label == "coverage@20"
