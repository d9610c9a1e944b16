"""The core model machinery, exercised through a small test-only ALS model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import Field

from workbench.data import Interactions
from workbench.factor.embedding import FactorModel
from workbench.model import Model, top_k
from workbench.params import Params
from workbench.testing import ModelContract, low_rank_ratings


class TinyALS(FactorModel):
    """Biased ALS in plain numpy (test fixture, not a product model)."""

    name = "tiny-als-test"

    class Params(Params):
        n_factors: int = Field(4, ge=1, description="latent factors")
        n_iters: int = Field(8, ge=1, description="ALS sweeps")
        reg: float = Field(0.1, ge=0, description="L2 regularisation")
        seed: int = Field(0, description="random seed")

    def _fit(self, train: Interactions, *, callback: Any, validation: Any) -> None:
        p = self.params
        rng = np.random.default_rng(p.seed)
        n_u, n_i, f = train.n_users, train.n_items, p.n_factors
        self.global_mean_ = float(train.value.mean())
        P = rng.normal(0, 0.1, (n_u, f))
        Q = rng.normal(0, 0.1, (n_i, f))
        bu, bi = np.zeros(n_u), np.zeros(n_i)
        csr, csc = train.csr(), train.csc()
        for _ in range(p.n_iters):
            for mat, X, bx, Y, by in ((csr, P, bu, Q, bi), (csc.T.tocsr(), Q, bi, P, bu)):
                for r in range(mat.shape[0]):
                    lo, hi = mat.indptr[r], mat.indptr[r + 1]
                    if lo == hi:
                        continue
                    idx = mat.indices[lo:hi]
                    y = mat.data[lo:hi] - self.global_mean_ - by[idx]
                    A = np.hstack([Y[idx], np.ones((hi - lo, 1))])
                    sol = np.linalg.solve(A.T @ A + p.reg * np.eye(f + 1), A.T @ y)
                    X[r], bx[r] = sol[:f], sol[f]
        self.user_factors_, self.item_factors_ = P.astype(np.float32), Q.astype(np.float32)
        self.user_bias_, self.item_bias_ = bu.astype(np.float32), bi.astype(np.float32)


class TestTinyALSContract(ModelContract):
    def make_model(self, **params: Any) -> TinyALS:
        return TinyALS(**params)


def test_top_k_orders_ties_by_item_and_pads():
    scores = np.array([[1.0, 3.0, 3.0, -np.inf], [0.5, -np.inf, -np.inf, -np.inf]], np.float32)
    items, vals = top_k(scores, np.array([10, 11, 12, 13]), 3)
    assert items.tolist() == [[11, 12, 10], [10, -1, -1]]
    assert np.isnan(vals[1, 1:]).all()


def test_recommend_in_small_blocks_matches_one_block():
    data = low_rank_ratings()
    model = TinyALS().fit(data)
    users = np.arange(data.n_users)
    a = model.recommend(users, k=5, batch_size=7)
    b = model.recommend(users, k=5)
    np.testing.assert_array_equal(a[0], b[0])


def test_similar_items_excludes_the_item_itself():
    model = TinyALS().fit(low_rank_ratings())
    items, scores = model.similar_items([3], k=4)
    assert 3 not in items[0] and np.all(np.diff(scores[0]) <= 1e-6)


def test_implicit_data_refused_by_explicit_only_model():
    class ExplicitOnly(TinyALS):
        feedback = frozenset({"explicit"})

    from workbench.errors import DataError

    with pytest.raises(DataError, match="needs explicit"):
        ExplicitOnly().fit(low_rank_ratings(kind="implicit"))


def test_default_pair_scoring_gives_unknown_items_the_users_mean_score():
    class OnlyBlocks(TinyALS):
        """Uses the base class's `_score_pairs` (no override)."""

        _score_pairs = Model._score_pairs

    data = low_rank_ratings()
    model = OnlyBlocks().fit(data)
    scores = model.predict([0, 0], [3, -1])
    everything = model.predict(np.zeros(data.n_items, dtype=np.int64), np.arange(data.n_items))
    assert scores[0] == pytest.approx(everything[3], rel=1e-5)
    assert scores[1] == pytest.approx(everything.mean(), rel=1e-5)
