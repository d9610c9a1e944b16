"""`knnbaseline` and `slope-one`: the contract, known answers against a direct loop-by-loop
computation of Surprise's formulas on a small dense matrix, hand-computed Slope One, fold-in,
bounds and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from workbench_baselines.neighbours import KNNBaseline, SlopeOne, als_baselines

from workbench.data import Interactions
from workbench.errors import ParamError, WorkbenchError
from workbench.testing import ModelContract


class TestKNNBaselineContract(ModelContract):
    seeded = False  # nothing random

    def make_model(self, **params: Any) -> KNNBaseline:
        params.pop("seed", None)
        return KNNBaseline(k=10, **params)


class TestUserKNNBaselineContract(ModelContract):
    seeded = False

    def make_model(self, **params: Any) -> KNNBaseline:
        params.pop("seed", None)
        return KNNBaseline(k=10, user_based=True, similarity="msd", **params)


class TestSlopeOneContract(ModelContract):
    seeded = False

    def make_model(self, **params: Any) -> SlopeOne:
        params.pop("seed", None)
        return SlopeOne(**params)


class TestWeightedSlopeOneContract(ModelContract):
    seeded = False

    def make_model(self, **params: Any) -> SlopeOne:
        params.pop("seed", None)
        return SlopeOne(weighted=True, **params)


# -- a direct computation of Surprise's formulas ------------------------------------------------
def dense_ratings(seed: int = 0, n: int = 14, m: int = 11) -> np.ndarray:
    """A users x items matrix with NaN for "not rated"; every user and item rated."""
    rng = np.random.default_rng(seed)
    r = np.where(rng.random((n, m)) < 0.5, rng.integers(1, 6, (n, m)).astype(float), np.nan)
    r[np.arange(n), np.arange(n) % m] = 3.0
    r[np.arange(m) % n, np.arange(m)] = 4.0
    return r


def as_interactions(r: np.ndarray) -> Interactions:
    u, i = np.nonzero(~np.isnan(r))
    frame = pd.DataFrame({"user": u, "item": i, "rating": r[u, i]})
    return Interactions.from_pandas(
        frame, user="user", item="item", value="rating", kind="explicit", rating_scale=(1, 5)
    )


def direct_baselines(r: np.ndarray, reg_u=15.0, reg_i=10.0, epochs=10):
    mu = np.nanmean(r)
    bu, bi = np.zeros(r.shape[0]), np.zeros(r.shape[1])
    for _ in range(epochs):
        for i in range(r.shape[1]):
            us = np.flatnonzero(~np.isnan(r[:, i]))
            bi[i] = sum(r[u, i] - mu - bu[u] for u in us) / (reg_i + len(us))
        for u in range(r.shape[0]):
            its = np.flatnonzero(~np.isnan(r[u]))
            bu[u] = sum(r[u, i] - mu - bi[i] for i in its) / (reg_u + len(its))
    return mu, bu, bi


def direct_similarity(x: np.ndarray, kind: str, base: np.ndarray | None, shrinkage=100.0):
    """Similarity of the rows of ``x`` (NaN: unrated), one pair at a time."""
    n = x.shape[0]
    sim = np.zeros((n, n))
    for a in range(n):
        for b in range(n):
            common = np.flatnonzero(~np.isnan(x[a]) & ~np.isnan(x[b]))
            if len(common) == 0:
                continue
            xa, xb = x[a, common], x[b, common]
            if kind == "pearson-baseline":
                xa, xb = xa - base[a, common], xb - base[b, common]
                den = np.sqrt((xa**2).sum() * (xb**2).sum())
                s = (xa * xb).sum() / den if den > 0 else 0.0
                s *= (len(common) - 1) / (len(common) - 1 + shrinkage)
            elif kind == "msd":
                s = 1.0 / (((xa - xb) ** 2).mean() + 1.0)
            elif kind == "cosine":
                s = (xa * xb).sum() / np.sqrt((xa**2).sum() * (xb**2).sum())
            else:  # pearson over the common columns
                ca, cb = xa - xa.mean(), xb - xb.mean()
                den = np.sqrt((ca**2).sum() * (cb**2).sum())
                s = (ca * cb).sum() / den if den > 0 else 0.0
            sim[a, b] = s
    return sim


def direct_knn(r: np.ndarray, user_based: bool, kind: str, k: int, min_k: int) -> np.ndarray:
    """Every (user, item) prediction of Surprise's KNNBaseline.estimate, by loops."""
    mu, bu, bi = direct_baselines(r)
    base = mu + bu[:, None] + bi[None, :]
    x, b = (r, base) if user_based else (r.T, base.T)
    sim = direct_similarity(x, kind, b)
    out = np.zeros_like(base)
    for u in range(r.shape[0]):
        for i in range(r.shape[1]):
            xa, y = (u, i) if user_based else (i, u)
            rated = np.flatnonzero(~np.isnan(x[:, y]))  # neighbours who rated y
            rated = rated[rated != xa]
            cands = sorted(rated, key=lambda v: (-sim[xa, v], v))[:k]
            num = den = 0.0
            actual = 0
            for v in cands:
                if sim[xa, v] > 0:
                    num += sim[xa, v] * (x[v, y] - b[v, y])
                    den += sim[xa, v]
                    actual += 1
            est = base[u, i]
            if actual >= min_k and den > 0:
                est += num / den
            out[u, i] = est
    return out


@pytest.mark.parametrize(
    ("user_based", "kind", "k", "min_k"),
    [
        (False, "pearson-baseline", 40, 1),
        (False, "pearson-baseline", 3, 2),
        (True, "msd", 40, 1),
        (True, "pearson-baseline", 4, 1),
        (False, "cosine", 5, 1),
        (True, "pearson", 5, 3),
    ],
)
def test_knn_baseline_matches_a_direct_computation(user_based, kind, k, min_k):
    r = dense_ratings()
    model = KNNBaseline(user_based=user_based, similarity=kind, k=k, min_k=min_k)
    model.fit(as_interactions(r))
    users, items = np.meshgrid(np.arange(r.shape[0]), np.arange(r.shape[1]), indexing="ij")
    got = model.predict(users.ravel(), items.ravel()).reshape(r.shape)
    want = direct_knn(r, user_based, kind, k, min_k)
    # the training pairs themselves use the item (user) itself as a neighbour in neither
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5)
    # the ranking path (block kernel) gives the same numbers as predict (pair kernel)
    block = model._score(model._known_state(np.arange(r.shape[0])), np.arange(r.shape[1]))
    np.testing.assert_allclose(block, got, rtol=0, atol=1e-6)


def test_als_baselines_match_surprise_order():
    r = dense_ratings(3)
    data = as_interactions(r)
    import scipy.sparse as sp

    mu, bu, bi = als_baselines(sp.csr_matrix(data.csr(), dtype=np.float64), 15.0, 10.0, 10)
    d_mu, d_bu, d_bi = direct_baselines(r)
    assert mu == pytest.approx(d_mu)
    np.testing.assert_allclose(bu, d_bu, atol=1e-12)
    np.testing.assert_allclose(bi, d_bi, atol=1e-12)


def direct_slope_one(r: np.ndarray, weighted: bool) -> np.ndarray:
    n, m = r.shape
    out = np.zeros((n, m))
    for u in range(n):
        rated = np.flatnonzero(~np.isnan(r[u]))
        for i in range(m):
            devs, weights = [], []
            for j in rated:
                common = np.flatnonzero(~np.isnan(r[:, i]) & ~np.isnan(r[:, j]))
                if len(common):
                    devs.append((r[common, i] - r[common, j]).mean())
                    weights.append((len(common), r[u, j]))
            if weighted:
                num = sum((d + rj) * c for d, (c, rj) in zip(devs, weights, strict=True))
                den = sum(c for c, _ in weights)
                out[u, i] = num / den if den else np.nanmean(r[u])
            else:
                out[u, i] = np.nanmean(r[u]) + (np.mean(devs) if devs else 0.0)
    return out


@pytest.mark.parametrize("weighted", [False, True])
def test_slope_one_matches_a_direct_computation(weighted):
    r = dense_ratings(1)
    model = SlopeOne(weighted=weighted).fit(as_interactions(r))
    users, items = np.meshgrid(np.arange(r.shape[0]), np.arange(r.shape[1]), indexing="ij")
    got = model.predict(users.ravel(), items.ravel()).reshape(r.shape)
    np.testing.assert_allclose(got, direct_slope_one(r, weighted), rtol=0, atol=2e-6)


def test_slope_one_paper_example():
    """Lemire and Maclachlan's example: A rated I 1 and J 1.5, B rated I 2: B's J is 2.5;
    C rated I 2, J 4, K 3 adds evidence for the weighted form."""
    r = np.array([[1.0, 1.5, np.nan], [2.0, np.nan, np.nan], [np.nan, 2.0, 3.0]])
    plain = SlopeOne().fit(as_interactions(r))
    assert plain.predict([1], [1])[0] == pytest.approx(2.5)
    # A's K: dev(K, J) = 1 over C (1 rater); I and K share no rater: 1.25 + 1 = 2.25
    assert plain.predict([0], [2])[0] == pytest.approx(2.25)
    weighted = SlopeOne(weighted=True).fit(as_interactions(r))
    assert weighted.predict([0], [2])[0] == pytest.approx(1.5 + 1.0)


def test_knn_fold_in_of_a_training_user_reproduces_its_predictions():
    r = dense_ratings(2)
    data = as_interactions(r)
    model = KNNBaseline(k=5).fit(data)
    folded = model.fold_in(data.subset(data.user == 3))
    items = np.arange(r.shape[1])
    np.testing.assert_allclose(
        model.predict((folded, np.zeros(len(items), dtype=np.int64)), items),
        model.predict(np.full(len(items), 3), items),
        atol=1e-5,
    )


def test_user_based_fold_in_compares_the_new_user_with_every_training_user():
    """A training user folded in again is its own nearest neighbour (msd 0: similarity 1);
    the rest of its similarity row is the fitted one."""
    data = as_interactions(dense_ratings(2))
    model = KNNBaseline(user_based=True, similarity="msd").fit(data)
    folded = model.fold_in(data.subset(data.user == 3))
    row = folded.state["similarity"][0]
    got = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
    assert got.pop(3) == 1.0
    fitted = model.similarity_[3]
    assert got == pytest.approx(
        dict(zip(fitted.indices.tolist(), fitted.data.tolist(), strict=True))
    )


def test_slope_one_fold_in_of_a_training_user_reproduces_its_predictions():
    r = dense_ratings(4)
    data = as_interactions(r)
    model = SlopeOne().fit(data)
    folded = model.fold_in(data.subset(data.user == 5))
    items = np.arange(r.shape[1])
    np.testing.assert_allclose(
        model.predict((folded, np.zeros(len(items), dtype=np.int64)), items),
        model.predict(np.full(len(items), 5), items),
        atol=1e-6,
    )


def test_similar_items_are_the_stored_neighbours_best_first():
    r = dense_ratings(5)
    model = KNNBaseline().fit(as_interactions(r))
    items, scores = model.similar_items([0, 1], k=4)
    for row in range(2):
        valid = items[row] >= 0
        assert valid.any() and (np.diff(scores[row][valid]) <= 0).all()
        assert np.isnan(scores[row][~valid]).all()
    assert 0 not in items[0] and 1 not in items[1]
    user_based = KNNBaseline(user_based=True).fit(as_interactions(r))
    with pytest.raises(WorkbenchError):
        user_based.similar_items([0])


def test_pair_bound_is_enforced_with_one_line():
    data = as_interactions(dense_ratings())
    with pytest.raises(ParamError, match="max_pairs"):
        KNNBaseline(max_pairs=10).fit(data)
    with pytest.raises(WorkbenchError, match="max_pairs"):
        SlopeOne(max_pairs=10).fit(data)
