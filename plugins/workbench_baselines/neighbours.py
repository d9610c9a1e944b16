"""Rating-prediction neighbours as in Surprise: ``knnbaseline`` and ``slope-one``.

- `KNNBaseline` (Koren 2010; Surprise's ``KNNBaseline``): ``r_hat(u, i) = b_ui + sum_v s (r -
  b) / sum_v s`` over the ``k`` nearest neighbours ``v`` with a positive similarity (items the
  user rated, or users who rated the item), 0 below ``min_k``; ``b_ui = mu + b_u + b_i`` by
  Surprise's ALS baselines.
- `SlopeOne` (Lemire and Maclachlan 2005; Surprise's ``SlopeOne``): ``r_hat(u, i) = mean_u +
  mean over the rated j that share a rater with i of dev(i, j)``, ``dev`` the mean rating
  difference over the users who rated both; ``weighted=true`` is the paper's weighted Slope
  One.

Item-item (user-user) structures are sparse over co-rated pairs; scores are computed per user
against the candidates (`workbench_baselines._neighbour_kernels`), never users x items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.capabilities import Capabilities, ColdStart
from workbench.data import Interactions
from workbench.errors import DataError
from workbench.model import Model, TrainingCallback, replace_rows
from workbench.params import Params
from workbench.user_state import UserState, grow_rows
from workbench_baselines.rating_similarity import (
    SimilarityKind,
    pair_bound,
    pattern_keys,
    similarities,
    values_on,
)

MAX_PAIRS = Field(
    25_000_000,
    ge=1,
    description="most co-rated pairs the similarity (deviation) structure may hold: about 40 "
    "bytes each while it is built; more is refused with an error",
)


def _kernels():
    from workbench_baselines import _neighbour_kernels  # numba: imported when first needed

    return _neighbour_kernels


def _csr(indptr: Any, indices: Any, data: Any, shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix from its arrays as they are (rows may be sorted by value, not index)."""
    m = sp.csr_matrix(shape, dtype=np.asarray(data).dtype)
    m.indptr, m.indices, m.data = (
        np.asarray(indptr), np.asarray(indices), np.asarray(data)
    )  # fmt: skip
    m.has_sorted_indices = False
    return m


def _on_training_pairs(model: Any, values: Any, what: str) -> sp.csr_matrix:
    """A saved model's per-pair ``values`` (float32) on its training pairs (``seen_``, as
    loaded): the file's arrays must match them one to one."""
    data = np.asarray(values, dtype=np.float32)
    seen = model.seen_
    if len(data) != seen.nnz:
        raise DataError(f"{model.owner()}: the {what} do not match the training pairs")
    return sp.csr_matrix((data, seen.indices, seen.indptr), shape=seen.shape)


def _rows_of(matrix: sp.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))


def als_baselines(
    ratings: sp.csr_matrix, reg_user: float, reg_item: float, n_epochs: int
) -> tuple[float, np.ndarray, np.ndarray]:
    """(mu, b_u, b_i) by Surprise's ALS (``bsl_options`` method ``als``): each epoch sets
    every ``b_i = sum(r - mu - b_u) / (reg_item + n_i)``, then every ``b_u``."""
    users, items = _rows_of(ratings), ratings.indices
    values = ratings.data.astype(np.float64)
    n_users, n_items = ratings.shape
    mu = float(values.mean())
    n_u = np.bincount(users, minlength=n_users)
    n_i = np.bincount(items, minlength=n_items)
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    for _ in range(n_epochs):
        bi = np.bincount(items, weights=values - mu - bu[users], minlength=n_items)
        bi /= reg_item + n_i
        bu = np.bincount(users, weights=values - mu - bi[items], minlength=n_users)
        bu /= reg_user + n_u
    return mu, bu, bi


def _ratings(train: Interactions) -> sp.csr_matrix:
    csr = sp.csr_matrix(train.csr(), dtype=np.float64)
    csr.sort_indices()
    return csr


# -- KNNBaseline -----------------------------------------------------------------------------
class KNNBaselineParams(Params):
    """Defaults: Surprise's, but item-based with the Pearson-baseline similarity (Surprise's
    ``KNNBaseline()`` is ``user_based=true similarity=msd``)."""

    k: int = Field(40, ge=1, description="most neighbours per prediction")
    min_k: int = Field(
        1, ge=0, description="fewer positive-similarity neighbours: predict the baseline"
    )
    user_based: bool = Field(
        False, description="neighbours are users who rated the item (false: items the user rated)"
    )
    similarity: SimilarityKind = Field(
        "pearson-baseline",
        description="pearson-baseline (shrunk correlation of baseline residuals), msd, cosine "
        "or pearson, as Surprise defines them",
    )
    shrinkage: float = Field(
        100.0, ge=0, description="pearson-baseline: shrinkage of the similarity"
    )
    min_support: int = Field(1, ge=0, description="fewer common ratings than this: similarity 0")
    reg_user: float = Field(15.0, ge=0, description="ALS baselines: regularisation of b_u")
    reg_item: float = Field(10.0, ge=0, description="ALS baselines: regularisation of b_i")
    bias_epochs: int = Field(10, ge=1, description="ALS baselines: sweeps (items, then users)")
    max_pairs: int = MAX_PAIRS


class KNNBaseline(Model):
    """Baseline plus the similarity-weighted residuals of the ``k`` nearest neighbours
    (item-based by default, user-based by option), as Surprise's ``KNNBaseline``. Fold-in:
    the user's bias with the items frozen (the ALS user step), its residuals scored against
    the fitted item-item similarities (user-based: its similarities to the training users).
    Nothing random. Cost: the similarity holds every co-rated pair (bounded by
    ``max_pairs``); a prediction reads one similarity row."""

    name = "knnbaseline"
    Params = KNNBaselineParams
    capabilities = Capabilities(
        feedback=frozenset({"explicit"}),
        cold_start=ColdStart(user="mu + b_i", item="mu + b_u (both cold: mu)"),
        fold_in="custom",
        update_users=True,
        similar_items=True,
        jit_warm_up=True,
    )

    @classmethod
    def capabilities_for(cls, params: Any) -> Capabilities:
        if params.user_based:
            return cls.capabilities.replace(update_users=False, similar_items=False)
        return cls.capabilities

    def _similarity(self, x: sp.csr_matrix, y: sp.csr_matrix, same: bool) -> sp.csr_matrix:
        p = self.params
        return similarities(
            x, y, p.similarity, shrinkage=p.shrinkage, min_support=p.min_support, same=same,
            max_pairs=p.max_pairs, owner=self.owner(),
        )  # fmt: skip

    def _values(self, ratings: sp.csr_matrix, residuals: sp.csr_matrix) -> sp.csr_matrix:
        """What the similarity compares: residuals (pearson-baseline) or ratings."""
        return residuals if self.params.similarity == "pearson-baseline" else ratings

    def _fit(self, train: Interactions, *, callback: TrainingCallback, validation: Any) -> None:
        p = self.params
        ratings = _ratings(train)
        mu, bu, bi = als_baselines(ratings, p.reg_user, p.reg_item, p.bias_epochs)
        resid = ratings.data - mu - bu[_rows_of(ratings)] - bi[ratings.indices]
        residuals = sp.csr_matrix((resid, ratings.indices, ratings.indptr), shape=ratings.shape)
        values = self._values(ratings, residuals)
        if p.user_based:
            self.similarity_ = self._similarity(values, values, True)
        else:
            by_item = values.T.tocsr()
            self.similarity_ = self._similarity(by_item, by_item, True)
        self.global_mean_ = mu
        self.user_bias_ = bu.astype(np.float32)
        self.item_bias_ = bi.astype(np.float32)
        self.residuals_ = sp.csr_matrix(
            (resid.astype(np.float32), ratings.indices, ratings.indptr), shape=ratings.shape
        )
        self._residuals_by_item = None

    def _by_item(self) -> sp.csr_matrix:
        """The training residuals by item (users sorted), for user-based pairs."""
        cached = getattr(self, "_residuals_by_item", None)
        if cached is None:
            cached = self.residuals_.T.tocsr()
            cached.sort_indices()
            self._residuals_by_item = cached
        return cached

    # -- users --------------------------------------------------------------------------------
    def _user_state(self, users: np.ndarray) -> UserState:
        inside = users >= 0
        bias = np.where(inside, self.user_bias_[np.where(inside, users, 0)], 0.0)
        shared = {"similarity": self.similarity_, "residuals": self.residuals_}
        return UserState(
            {"bias": bias.astype(np.float32), "row": users.astype(np.int64)}, len(users), shared
        )

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        p = self.params
        n = history.shape[0]
        hist = sp.csr_matrix(history, dtype=np.float64)
        hist.sort_indices()
        rows = _rows_of(hist)
        offset = hist.data - self.global_mean_ - self.item_bias_[hist.indices].astype(np.float64)
        bias = np.bincount(rows, weights=offset, minlength=n) / (p.reg_user + np.diff(hist.indptr))
        resid = offset - bias[rows]
        residuals = sp.csr_matrix((resid, hist.indices, hist.indptr), shape=hist.shape)
        shared: dict[str, Any] = {"residuals": residuals.astype(np.float32)}
        if p.user_based:
            train = self.residuals_.astype(np.float64)
            if p.similarity != "pearson-baseline":
                train = sp.csr_matrix(
                    (self._training_ratings(), train.indices, train.indptr), shape=train.shape
                )
            shared["similarity"] = self._similarity(self._values(hist, residuals), train, False)
        else:
            shared["similarity"] = self.similarity_
        arrays = {"bias": bias.astype(np.float32), "row": np.arange(n, dtype=np.int64)}
        return UserState(arrays, n, shared)

    def _training_ratings(self) -> np.ndarray:
        """The training ratings back from the residuals and baselines."""
        r = self.residuals_
        return (
            r.data.astype(np.float64) + self.global_mean_
            + self.user_bias_[_rows_of(r)].astype(np.float64)
            + self.item_bias_[r.indices].astype(np.float64)
        )  # fmt: skip

    def _set_user_rows(self, rows: np.ndarray, state: UserState, n_users: int) -> None:
        self.user_bias_ = grow_rows(self.user_bias_, n_users)
        self.user_bias_[rows] = state["bias"]
        folded = state["residuals"][state["row"]]
        self.residuals_ = replace_rows(self.residuals_, rows, folded, n_users)
        self._residuals_by_item = None

    # -- scoring ------------------------------------------------------------------------------
    def _adjust_block(self, state: UserState, items: np.ndarray) -> np.ndarray:
        p, k = self.params, _kernels()
        s = state["similarity"]
        if p.user_based:
            col_of = np.full(self.n_items_, -1, dtype=np.int64)
            col_of[items] = np.arange(len(items))
            z = self.residuals_
            return k.user_knn_block(
                state["row"], s.indptr, s.indices, s.data, z.indptr, z.indices, z.data,
                col_of, len(items), p.k, p.min_k,
            )  # fmt: skip
        z = state["residuals"]
        return k.item_knn_block(
            state["row"], z.indptr, z.indices, z.data, items, s.indptr, s.indices, s.data,
            self.n_items_, p.k, p.min_k,
        )  # fmt: skip

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        items = np.asarray(items, dtype=np.int64)
        adjust = self._adjust_block(state, items)
        base = self.global_mean_ + state["bias"][:, None] + self.item_bias_[items][None, :]
        return (adjust + base).astype(np.float32)

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        p, k = self.params, _kernels()
        items = np.asarray(items, dtype=np.int64)
        s = state["similarity"]
        if p.user_based:
            zt = self._by_item()
            adjust = k.user_knn_pairs(
                state["row"], items, s.indptr, s.indices, s.data, zt.indptr, zt.indices,
                zt.data, p.k, p.min_k,
            )  # fmt: skip
        else:
            z = state["residuals"]
            adjust = k.item_knn_pairs(
                state["row"], z.indptr, z.indices, z.data, items, s.indptr, s.indices, s.data,
                self.n_items_, p.k, p.min_k,
            )  # fmt: skip
        inside = items >= 0
        item_bias = np.where(inside, self.item_bias_[np.where(inside, items, 0)], 0.0)
        return (adjust + self.global_mean_ + state["bias"] + item_bias).astype(np.float32)

    # -- similar items ------------------------------------------------------------------------
    def similar_items(self, items: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most similar items of each item (positive similarities, best first;
        padded with -1): item-based only."""
        self.check_fitted()
        if self.params.user_based:
            return super().similar_items(items, k)  # no item vectors: a one-line error
        idx, k = self._similar_items_request(items, k, self.n_items_)
        s = self.similarity_
        scores = np.full((len(idx), k), -np.inf, dtype=np.float32)
        out = np.full((len(idx), k), -1, dtype=np.int64)
        for row, item in enumerate(idx):
            lo = s.indptr[item]
            hi = min(s.indptr[item + 1], lo + k)
            out[row, : hi - lo] = s.indices[lo:hi]
            scores[row, : hi - lo] = s.data[lo:hi]
        scores[out < 0] = np.nan
        return out, scores

    # -- files --------------------------------------------------------------------------------
    def _state_arrays(self) -> dict[str, np.ndarray]:
        s = self.similarity_
        return {
            "global_mean": np.asarray(self.global_mean_, dtype=np.float64),
            "user_bias": self.user_bias_,
            "item_bias": self.item_bias_,
            "residual_data": self.residuals_.data,
            "sim_indptr": np.asarray(s.indptr, dtype=np.int64),
            "sim_indices": np.asarray(s.indices, dtype=np.int64),
            "sim_data": s.data,
        }

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.global_mean_ = float(arrays["global_mean"])
        self.user_bias_ = np.asarray(arrays["user_bias"], dtype=np.float32)
        self.item_bias_ = np.asarray(arrays["item_bias"], dtype=np.float32)
        self.residuals_ = _on_training_pairs(self, arrays["residual_data"], "residuals")
        n = self.n_users_ if self.params.user_based else self.n_items_
        self.similarity_ = _csr(
            arrays["sim_indptr"], arrays["sim_indices"], np.asarray(arrays["sim_data"]), (n, n)
        )
        self._residuals_by_item = None


# -- Slope One -------------------------------------------------------------------------------
class SlopeOneParams(Params):
    weighted: bool = Field(
        False,
        description="weighted Slope One (each deviation weighted by its number of common "
        "raters; false: Surprise's SlopeOne, user mean + mean deviation)",
    )
    max_pairs: int = MAX_PAIRS


class SlopeOne(Model):
    """Slope One (Lemire and Maclachlan 2005) as Surprise's ``SlopeOne``: the user's mean plus
    the mean deviation of the item from the user's rated items (those sharing a rater), or
    the weighted form. Fold-in: the user's mean and ratings against the fitted deviations.
    Nothing random. Cost: items x items deviations over co-rated pairs (``max_pairs``)."""

    name = "slope-one"
    Params = SlopeOneParams
    capabilities = Capabilities(
        feedback=frozenset({"explicit"}),
        cold_start=ColdStart(
            user="the global mean", item="the global mean (as Surprise's SlopeOne)"
        ),
        fold_in="custom",
        update_users=True,
        jit_warm_up=True,
    )

    def _fit(self, train: Interactions, *, callback: TrainingCallback, validation: Any) -> None:
        ratings = _ratings(train)
        by_item = ratings.T.tocsr()
        pattern = sp.csr_matrix((np.ones(by_item.nnz), by_item.indices, by_item.indptr),
                                shape=by_item.shape)  # fmt: skip
        bound = pair_bound(by_item, by_item)
        if bound > self.params.max_pairs:
            raise DataError(
                f"{self.owner()}: the deviations would hold up to {bound:,} item pairs, more "
                f"than max_pairs={self.params.max_pairs:,}; raise max_pairs"
            )
        freq = (pattern @ pattern.T).tocsr()
        freq.sort_indices()
        # sum over common raters of (r_j - r_i) for row j, column i
        diff = (by_item @ pattern.T - pattern @ by_item.T).tocsr()
        keys = pattern_keys(freq, freq.shape[1])
        sums = values_on(keys, diff, freq.shape[1])
        self.global_mean_ = float(ratings.data.mean())
        counts = np.diff(ratings.indptr)
        totals = np.bincount(_rows_of(ratings), weights=ratings.data, minlength=ratings.shape[0])
        self.user_mean_ = np.divide(
            totals, counts, out=np.full(ratings.shape[0], self.global_mean_), where=counts > 0
        )
        self.ratings_ = sp.csr_matrix(
            (ratings.data.astype(np.float32), ratings.indices, ratings.indptr), ratings.shape
        )
        self.deviation_ = sp.csr_matrix(
            ((sums / freq.data).astype(np.float64), freq.indices, freq.indptr), freq.shape
        )
        self.support_ = freq.data.astype(np.float64)

    def _user_state(self, users: np.ndarray) -> UserState:
        inside = users >= 0
        mean = np.where(inside, self.user_mean_[np.where(inside, users, 0)], self.global_mean_)
        return UserState(
            {"mean": mean.astype(np.float64), "row": users.astype(np.int64)},
            len(users),
            {"ratings": self.ratings_},
        )

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        hist = sp.csr_matrix(history, dtype=np.float32)
        hist.sort_indices()
        n = hist.shape[0]
        counts = np.diff(hist.indptr)
        totals = np.bincount(_rows_of(hist), weights=hist.data.astype(np.float64), minlength=n)
        mean = np.divide(totals, counts, out=np.full(n, self.global_mean_), where=counts > 0)
        rows = np.arange(n, dtype=np.int64)  # an empty history: no deviations, the mean
        return UserState({"mean": mean, "row": rows}, n, {"ratings": hist})

    def _set_user_rows(self, rows: np.ndarray, state: UserState, n_users: int) -> None:
        mean = grow_rows(self.user_mean_, n_users)
        mean[len(self.user_mean_) :] = self.global_mean_
        mean[rows] = state["mean"]
        self.user_mean_ = mean
        folded = state["ratings"][state["row"]]
        self.ratings_ = replace_rows(self.ratings_, rows, folded, n_users)

    def _estimate(self, mean: np.ndarray, sums: np.ndarray, weights: np.ndarray, cold: Any):
        has = weights > 0
        safe = np.where(has, weights, 1.0)
        if self.params.weighted:
            est = np.where(has, sums / safe, mean)
        else:
            est = mean + np.where(has, sums / safe, 0.0)
        return np.where(cold, self.global_mean_, est).astype(np.float32)

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        items = np.asarray(items, dtype=np.int64)
        r, d = state["ratings"], self.deviation_
        sums, weights = _kernels().slope_one_block(
            state["row"], r.indptr, r.indices, r.data, items, d.indptr, d.indices, d.data,
            self.support_, self.n_items_, self.params.weighted,
        )  # fmt: skip
        cold = (self.item_counts_[items] == 0)[None, :]  # no training rating: as Surprise
        return self._estimate(state["mean"][:, None], sums, weights, cold)

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        items = np.asarray(items, dtype=np.int64)
        r, d = state["ratings"], self.deviation_
        sums, weights = _kernels().slope_one_pairs(
            state["row"], items, r.indptr, r.indices, r.data, d.indptr, d.indices, d.data,
            self.support_, self.params.weighted,
        )  # fmt: skip
        inside = items >= 0
        cold = ~inside | (self.item_counts_[np.where(inside, items, 0)] == 0)
        return self._estimate(state["mean"], sums, weights, cold)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        d = self.deviation_
        return {
            "global_mean": np.asarray(self.global_mean_, dtype=np.float64),
            "user_mean": self.user_mean_,
            "rating_data": self.ratings_.data,
            "dev_indptr": np.asarray(d.indptr, dtype=np.int64),
            "dev_indices": np.asarray(d.indices, dtype=np.int64),
            "dev_data": d.data,
            "support": self.support_,
        }

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.global_mean_ = float(arrays["global_mean"])
        self.user_mean_ = np.asarray(arrays["user_mean"], dtype=np.float64)
        self.ratings_ = _on_training_pairs(self, arrays["rating_data"], "ratings")
        n = self.n_items_
        self.deviation_ = _csr(
            arrays["dev_indptr"], arrays["dev_indices"], np.asarray(arrays["dev_data"]), (n, n)
        )
        self.support_ = np.asarray(arrays["support"], dtype=np.float64)
