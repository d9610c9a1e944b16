"""The evaluation protocol, with tiny fixed-score models (known answers)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import ndcg_score, roc_auc_score
from workbench_metrics.beyond import Coverage, Popularity
from workbench_metrics.ranking import AUC, MAP, MRR, NDCG, HitRate, Precision, Recall
from workbench_metrics.rating import MAE, RMSE

import workbench.ranking as ranking_module
from workbench.data import IdMap, Interactions
from workbench.errors import DataError, ParamError
from workbench.evaluation import check_metrics_fit, default_threshold, evaluate
from workbench.model import Model, top_k
from workbench.protocol import EvaluationProtocol
from workbench.splits import Split
from workbench.user_state import UserState


class FixedScores(Model):
    """Scores from a fixed (users x items) table; cold users get ``fallback`` per item;
    fold-in scores are ``fold_base`` plus 100 for every history item (so history items
    would top the list if they were not excluded)."""

    name = "fixed-scores-test"

    def __init__(self, table=None, fallback=None, fold_base=None, **params: Any):
        super().__init__(**params)
        self._table = table
        self._fallback = fallback
        self._fold_base = fold_base

    def _fit(self, train: Interactions, *, callback: Any, validation: Any) -> None:
        self.table_ = np.asarray(self._table, dtype=np.float32)
        n_items = train.n_items
        fb = self._fallback if self._fallback is not None else np.zeros(n_items)
        self.fallback_ = np.asarray(fb, dtype=np.float32)

    def _user_state(self, users: np.ndarray) -> UserState:
        known = (users >= 0) & (self.user_counts_[np.maximum(users, 0)] > 0)
        rows = self.table_[np.maximum(users, 0)]
        return {"vec": np.where(known[:, None], rows, self.fallback_[None, :])}

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        return state["vec"][:, items]

    def _fold_in(self, history: sp.csr_matrix) -> UserState:
        base = np.asarray(self._fold_base, dtype=np.float32)
        return {"vec": base[None, :] + 100.0 * (history.toarray() != 0)}

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"table": self.table_, "fallback": self.fallback_}

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.table_, self.fallback_ = arrays["table"], arrays["fallback"]


def make(users, items, values, *, n_users, n_items, kind="explicit", scale=(1, 5)):
    return Interactions(
        np.asarray(users),
        np.asarray(items),
        np.asarray(values, dtype=np.float32),
        users=IdMap([f"u{i}" for i in range(n_users)]),
        items=IdMap([f"i{i}" for i in range(n_items)]),
        kind=kind,
        rating_scale=scale if kind == "explicit" else None,
    )


def tiny_split() -> tuple[Split, np.ndarray]:
    """2 users x 6 items. Train: u0 rated i0, i1; u1 rated i0. Test: u0 i2=5, i3=2, i4=4;
    u1 i1=4, i5=3. Scores rank u0: i0 > i1 > i3 > i4 > i2 > i5, u1: i0 > i5 > i1 > ..."""
    train = make([0, 0, 1], [0, 1, 0], [4, 3, 5], n_users=2, n_items=6)
    test = make([0, 0, 0, 1, 1], [2, 3, 4, 1, 5], [5, 2, 4, 4, 3], n_users=2, n_items=6)
    test = Interactions(
        test.user, test.item, test.value, users=train.users, items=train.items, rating_scale=(1, 5)
    )
    table = np.array(
        [
            [9.0, 8.0, 1.0, 7.0, 6.0, 0.0],
            [9.0, 5.0, 1.0, 2.0, 3.0, 8.0],
        ]
    )
    return Split(train, test), table


def fitted(split: Split, table: np.ndarray, **kw: Any) -> FixedScores:
    return FixedScores(table=table, **kw).fit(split.train)


ALL_RANKING = [Precision(k=3), Recall(k=3), NDCG(k=3), MAP(k=3), MRR(k=3), HitRate(k=3), AUC()]


def test_hand_computed_end_to_end():
    split, table = tiny_split()
    model = fitted(split, table)
    ev = evaluate(model, split, ALL_RANKING, per_user=True)
    # u0: unseen i2..i5 ranked i3, i4, i2, i5; relevant (>= 4): i2, i4
    #     top-3 = i3, i4, i2 -> hits at ranks 2 and 3
    # u1: unseen i1..i5 ranked i5, i1, i4, i3, i2; relevant: i1 -> hit at rank 2
    s = ev.scores
    assert s["precision@3"] == pytest.approx(np.mean([2 / 3, 1 / 3]))
    assert s["recall@3"] == pytest.approx(np.mean([1.0, 1.0]))
    ndcg0 = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    ndcg1 = (1 / math.log2(3)) / 1.0
    assert s["ndcg@3"] == pytest.approx(np.mean([ndcg0, ndcg1]))
    assert s["map@3"] == pytest.approx(np.mean([(1 / 2 + 2 / 3) / 2, 1 / 2]))
    assert s["mrr@3"] == pytest.approx(np.mean([1 / 2, 1 / 2]))
    assert s["hitrate@3"] == 1.0
    # AUC u0: i2 (1) beats i5 (0): 1 of 2, i4 (6) beats i3? no (7), beats i5: 1 of 2 -> 0.5
    # AUC u1: i1 (5) vs i2, i3, i4, i5 (1, 2, 3, 8): beats 3 of 4 -> 0.75
    assert s["auc"] == pytest.approx(np.mean([0.5, 0.75]))
    d = ev.diagnostics
    assert d["n_ranked_users"] == 2 and d["users_without_relevant"] == 0
    assert d["relevance_threshold"] == 4.0 and d["n_test"] == 5
    pu = ev.per_user
    assert pu["user"].tolist() == [0, 1]
    assert pu["n_train"].tolist() == [2, 1]
    assert pu["n_candidates"].tolist() == [4, 5]
    assert [list(t) for t in pu["top"]] == [[3, 4, 2], [5, 1, 4]]


def test_seen_items_are_never_ranked_even_with_the_best_scores():
    split, table = tiny_split()
    ev = evaluate(fitted(split, table), split, [Precision(k=6)], per_user=True)
    for user, top in zip(ev.per_user["user"], ev.per_user["top"], strict=True):
        seen = set(split.train.item[split.train.user == user])
        assert seen.isdisjoint(set(top.tolist()))
        assert -1 in top.tolist()  # fewer candidates than k: padded
    # exclude_seen=False ranks them (and they are never relevant)
    ev = evaluate(
        fitted(split, table), split, [Precision(k=1)], EvaluationProtocol(exclude_seen=False)
    )
    assert ev.scores["precision@1"] == 0.0


def test_users_without_relevant_items_are_left_out_and_counted():
    split, table = tiny_split()
    ev = evaluate(
        fitted(split, table), split, [Recall(k=3)], EvaluationProtocol(relevance_threshold=5)
    )
    # only u0's i2 (5 stars) is relevant; u1 has none
    assert ev.diagnostics["n_ranked_users"] == 1
    assert ev.diagnostics["users_without_relevant"] == 1
    assert ev.scores["recall@3"] == 1.0


def test_default_threshold_rule():
    assert default_threshold((1, 5)) == 4.0
    assert default_threshold((0.5, 5)) == pytest.approx(3.875)
    assert default_threshold((1, 10)) == pytest.approx(7.75)
    split, _ = tiny_split()
    assert EvaluationProtocol().threshold_for(split.train) == 4.0
    assert EvaluationProtocol(relevance_threshold=3).threshold_for(split.train) == 3.0


def test_threshold_above_the_scale_is_an_error():
    split, table = tiny_split()
    with pytest.raises(DataError, match="above the rating scale"):
        evaluate(fitted(split, table), split, [Recall()], EvaluationProtocol(relevance_threshold=6))


def test_implicit_data_every_test_item_is_relevant_and_rmse_is_refused():
    split, table = tiny_split()
    imp = Split(
        split.train._replace(kind="implicit", rating_scale=None),
        split.test._replace(kind="implicit", rating_scale=None),
    )
    ev = evaluate(fitted(imp, table), imp, [Recall(k=3), NDCG(k=3, gain="graded")])
    # u0: relevant i2, i3, i4, all in the top 3; u1: i1, i5 in the top 2
    assert ev.scores["recall@3"] == 1.0
    assert ev.scores["ndcg@3[gain=graded]"] == pytest.approx(1.0)
    assert ev.diagnostics["relevance_threshold"] is None
    with pytest.raises(DataError, match="explicit"):
        check_metrics_fit([RMSE()], imp.train)
    with pytest.raises(DataError, match="explicit"):
        evaluate(fitted(imp, table), imp, [RMSE()])


def test_rating_metrics_clip_and_count_cold_pairs():
    # u2 and i6 have no training data: cold. Table scores are out of the 1..5 scale.
    train = make([0, 0, 1, 1], [0, 1, 0, 1], [4, 3, 5, 2], n_users=3, n_items=3)
    test = make([0, 1, 2, 0], [2, 2, 0, 2], [5, 1, 3, 5], n_users=3, n_items=3)
    test = test.subset(np.arange(3))  # (u0, i2, 5) (u1, i2, 1) (u2, i0, 3)
    test = Interactions(
        test.user, test.item, test.value, users=train.users, items=train.items, rating_scale=(1, 5)
    )
    split = Split(train, test)
    table = np.array([[0, 0, 7.0], [0, 0, -1.0], [0, 0, 0]])
    model = fitted(split, table, fallback=np.array([3.5, 0.0, 0.0]))
    ev = evaluate(model, split, [RMSE(), MAE()])
    # clipped predictions: 5 (truth 5), 1 (truth 1), cold user -> fallback 3.5 (truth 3)
    assert ev.scores["rmse"] == pytest.approx(math.sqrt(0.25 / 3))
    assert ev.scores["mae"] == pytest.approx(0.5 / 3)
    raw = evaluate(model, split, [RMSE()], EvaluationProtocol(clip=False))
    assert raw.scores["rmse"] == pytest.approx(math.sqrt((4 + 4 + 0.25) / 3))
    d = ev.diagnostics
    assert d["cold_users"] == 1 and d["cold_items"] == 1 and d["cold_pairs"] == 3
    assert "cold_fallback" in d and isinstance(d["cold_fallback"], str)


def test_cold_and_warm_rating_errors_are_reported_separately():
    train = make([0, 1, 1], [0, 0, 1], [4, 2, 5], n_users=3, n_items=2)
    test = make([0, 2], [1, 0], [5, 1], n_users=3, n_items=2)
    test = Interactions(
        test.user, test.item, test.value, users=train.users, items=train.items, rating_scale=(1, 5)
    )
    split = Split(train, test)
    model = fitted(split, np.full((3, 2), 4.0), fallback=np.array([3.0, 3.0]))
    ev = evaluate(model, split, [MAE()])
    assert ev.diagnostics["cold_pairs"] == 1 and ev.diagnostics["cold_users"] == 1
    assert ev.diagnostics["mae_warm"] == pytest.approx(1.0)  # predicted 4, truth 5
    assert ev.diagnostics["mae_cold"] == pytest.approx(2.0)  # fallback 3, truth 1


def test_fold_in_users_are_ranked_without_their_history():
    # u0 and u1 train; u2 is new: history i0, i1; test i2 (5 stars), i3 (1 star)
    users = IdMap(["u0", "u1", "u2"])
    items = IdMap([f"i{i}" for i in range(5)])

    def part(u, i, v):
        return Interactions(
            np.array(u),
            np.array(i),
            np.array(v, np.float32),
            users=users,
            items=items,
            rating_scale=(1, 5),
        )

    train = part([0, 0, 1, 1], [0, 2, 1, 3], [5, 4, 3, 2])
    history = part([2, 2], [0, 1], [5, 4])
    test = part([2, 2, 0], [2, 3, 4], [5, 1, 4])
    split = Split(train, test, history=history)
    base = np.array([0.0, 0.0, 1.0, 3.0, 2.0])
    model = FixedScores(table=np.array([[0, 0, 0, 0, 1.0]] * 3), fold_base=base).fit(train)
    ev = evaluate(model, split, [Precision(k=2), Recall(k=1), RMSE()], per_user=True)
    pu = ev.per_user.set_index("user")
    # u2's history items score 100+ but are excluded: ranked i3 (3), i4 (2), i2 (1)
    assert list(pu.loc[2, "top"]) == [3, 4]
    assert bool(pu.loc[2, "folded"]) and pu.loc[2, "n_train"] == 2
    assert pu.loc[2, "precision@2"] == 0.0
    assert pu.loc[0, "precision@2"] == 0.5  # u0: i4 is its only unseen relevant... at rank 1
    assert ev.diagnostics["folded_users"] == 1 and ev.diagnostics["cold_users"] == 0
    # rating predictions of the folded user come from its folded state: i2 -> 1, i3 -> 3
    expected = math.sqrt(((1 - 5) ** 2 + (3 - 1) ** 2 + (1 - 4) ** 2) / 3)
    assert ev.scores["rmse"] == pytest.approx(expected)


def test_sampled_negatives_only_when_asked_and_reproducible():
    rng = np.random.default_rng(3)
    n_users, n_items = 20, 40
    dense = rng.random((n_users, n_items)) < 0.3
    u, i = np.nonzero(dense)
    values = rng.integers(1, 6, len(u))
    data = make(u, i, values, n_users=n_users, n_items=n_items)
    test_mask = rng.random(len(data)) < 0.3
    split = Split(data.subset(~test_mask), data.subset(test_mask))
    model = fitted(split, rng.random((n_users, n_items)))
    full = evaluate(model, split, [Recall(k=5)], per_user=True)
    unseen = n_items - split.train.user_counts()
    test_users = full.per_user["user"].to_numpy()
    assert (full.per_user["n_candidates"].to_numpy() == unseen[test_users]).all()
    a = evaluate(
        model, split, [Recall(k=5)], EvaluationProtocol(negatives=4, seed=1), per_user=True
    )
    b = evaluate(
        model, split, [Recall(k=5)], EvaluationProtocol(negatives=4, seed=1), per_user=True
    )
    assert a.scores == b.scores
    expected = np.minimum(a.per_user["n_relevant"] + 4, unseen[test_users]).to_numpy()
    assert (a.per_user["n_candidates"].to_numpy() == expected).all()
    assert a.scores["recall@5"] >= full.scores["recall@5"]
    with pytest.raises(ParamError):
        EvaluationProtocol(negatives=0)


def random_split(seed: int, n_users: int = 60, n_items: int = 50, kind: str = "explicit"):
    rng = np.random.default_rng(seed)
    dense = rng.random((n_users, n_items)) < 0.25
    u, i = np.nonzero(dense)
    values = rng.integers(1, 6, len(u))
    data = make(u, i, values, n_users=n_users, n_items=n_items, kind=kind)
    test_mask = rng.random(len(data)) < 0.25
    return Split(data.subset(~test_mask), data.subset(test_mask)), rng.random((n_users, n_items))


@pytest.mark.parametrize("seed", [0, 1])
def test_end_to_end_matches_sklearn_on_unseen_items(seed):
    split, table = random_split(seed)
    model = fitted(split, table)
    ev = evaluate(model, split, [NDCG(k=5), NDCG(k=5, gain="graded"), AUC()])
    seen = split.train.csr().toarray() != 0
    truth = split.test.csr().toarray()
    ndcg, graded, auc = [], [], []
    for user in np.unique(split.test.user):
        cand = ~seen[user]
        rel = (truth[user] >= 4) & cand
        if not rel.any():
            continue
        s = table[user][cand]
        ndcg.append(ndcg_score(rel[cand][None].astype(float), s[None], k=5))
        gains = np.where(rel, 2.0 ** truth[user] - 1, 0.0)[cand]
        graded.append(ndcg_score(gains[None], s[None], k=5))
        if rel[cand].sum() < cand.sum():
            auc.append(roc_auc_score(rel[cand], s))
    assert ev.scores["ndcg@5"] == pytest.approx(np.mean(ndcg))
    assert ev.scores["ndcg@5[gain=graded]"] == pytest.approx(np.mean(graded))
    assert ev.scores["auc"] == pytest.approx(np.mean(auc))


def test_results_do_not_depend_on_the_block_size(monkeypatch):
    split, table = random_split(5)
    metrics = [Precision(k=4), NDCG(k=7), MAP(k=5), AUC(), Coverage(k=4), Popularity(k=7)]
    one = evaluate(fitted(split, table), split, metrics, per_user=True)
    monkeypatch.setattr(ranking_module, "BLOCK_CELLS", 50 * 3)  # 3 users per block
    many = evaluate(fitted(split, table), split, metrics, per_user=True)
    assert one.scores == pytest.approx(many.scores)
    assert [list(t) for t in one.per_user["top"]] == [list(t) for t in many.per_user["top"]]


def test_ties_at_the_cut_go_to_the_lowest_item_index():
    scores = np.array([[1.0, 2.0, 2.0, 2.0, 0.0]], dtype=np.float32)
    cand = np.arange(5)
    assert top_k(scores, cand, 1)[0].tolist() == [[1]]
    assert top_k(scores, cand, 2)[0].tolist() == [[1, 2]]
    for k in range(1, 6):  # a shorter list is always the prefix of a longer one
        assert top_k(scores, cand, k)[0][0].tolist() == top_k(scores, cand, 5)[0][0, :k].tolist()


def test_leaked_test_pairs_are_an_error():
    split, table = tiny_split()
    leaky = Split(split.train, split.train)
    with pytest.raises(DataError, match="leaks"):
        evaluate(fitted(split, table), leaky, [Recall()])


def test_a_model_fitted_on_other_data_is_refused():
    split, table = tiny_split()
    other = make([0], [0], [3], n_users=2, n_items=4)
    model = FixedScores(table=table).fit(other)
    with pytest.raises(DataError, match="fitted on other data"):
        evaluate(model, split, [Recall()])


def test_metric_checks_before_training():
    split, _ = tiny_split()
    with pytest.raises(ParamError, match="twice"):
        check_metrics_fit([NDCG(k=10), NDCG(k=10)], split.train)
    check_metrics_fit([NDCG(k=10), NDCG(k=10, gain="graded"), RMSE()], split.train)


def test_protocol_round_trip():
    p = EvaluationProtocol(relevance_threshold=3.5, negatives=100, seed=7, clip=False)
    d = p.as_dict()
    assert d["negatives"] == 100 and "candidates" in d and "relevance" in d
    assert EvaluationProtocol.from_dict(d) == p


def test_an_empty_test_set_is_an_error():
    split, table = tiny_split()
    empty = Split(split.train, split.test.subset(np.zeros(len(split.test), dtype=bool)))
    with pytest.raises(DataError, match="empty"):
        evaluate(fitted(split, table), empty, [Recall()])


def test_tied_scores_rank_in_a_seeded_random_order_not_by_item_id():
    # every user's relevant test items are the lowest item ids; a constant model would score
    # perfectly if ties went to the lowest index
    n_users, n_items = 30, 40
    users = np.repeat(np.arange(n_users), 8)
    items = np.tile(np.arange(8), n_users)
    values = np.where(items < 3, 5, 1)
    train_rows = items >= 3
    data = make(users, items, values, n_users=n_users, n_items=n_items)
    split = Split(data.subset(train_rows), data.subset(~train_rows))
    constant = fitted(split, np.zeros((n_users, n_items)))
    a = evaluate(
        constant, split, [Precision(k=3), AUC()], EvaluationProtocol(seed=1), per_user=True
    )
    assert a.scores["precision@3"] < 0.5  # by item id it would be 1.0
    assert a.scores["auc"] == pytest.approx(0.5)
    b = evaluate(constant, split, [Precision(k=3)], EvaluationProtocol(seed=1), per_user=True)
    c = evaluate(constant, split, [Precision(k=3)], EvaluationProtocol(seed=2), per_user=True)
    assert [list(t) for t in a.per_user["top"]] == [list(t) for t in b.per_user["top"]]
    assert [list(t) for t in a.per_user["top"]] != [list(t) for t in c.per_user["top"]]
    # distinct scores are not affected by the tie order
    split2, table = tiny_split()
    for seed in (0, 1, 2):
        ev = evaluate(
            fitted(split2, table), split2, [Precision(k=3)], EvaluationProtocol(seed=seed)
        )
        assert ev.scores["precision@3"] == pytest.approx(np.mean([2 / 3, 1 / 3]))
