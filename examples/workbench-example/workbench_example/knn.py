"""Item-based k-nearest-neighbours with a baseline (the KNNBaseline family), fully sparse.

Explicit ratings (Koren 2010, "Factor in the neighbors")::

    r_hat(u, i) = b_ui + sum_j s_ij (r_uj - b_uj) / sum_j s_ij,    b_ui = mu + b_u + b_i

over the ``k`` items ``j`` most similar to ``i`` among those ``u`` rated (positive
similarities only). Implicit feedback: ``score(u, i) = sum_j s_ij`` over the same neighbours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench import (
    Capabilities,
    ColdStart,
    DataError,
    Interactions,
    Model,
    ParamError,
    Params,
    UserState,
)
from workbench.model import check_k, index_array, replace_rows, top_k
from workbench.user_state import grow_rows
from workbench_example.similarity import item_similarities


def _positive(denominator: np.ndarray) -> np.ndarray:
    """Denominators of regularised means; an empty group (sum 0) divides by 1, not 0."""
    return np.where(denominator > 0, denominator, 1.0)


class ItemKNN(Model):
    """Item-based kNN with baseline: neighbours' residuals (ratings) or similarities (implicit).

    Similarities are computed once at fit time and the ``max_neighbors`` most similar items of
    each item are kept; a prediction uses the ``k`` of those the user rated. Cold-start
    fallback: a user with no history gets the baseline ``mu + b_i`` (explicit) or score 0
    (implicit); an unknown item gets ``mu + b_u``. New users are folded in without
    retraining: their bias is fitted with the items frozen and their ratings become the
    neighbours' residuals. Deterministic: there is nothing random.
    """

    name = "item-knn"
    state_version = 1
    plugin_api = "3.0"
    capabilities = Capabilities(
        cold_start=ColdStart(user="mu + b_i (ratings) or 0 (implicit)", item="mu + b_u"),
        fold_in="custom",
        update_users=True,
        similar_items=True,
        jit_warm_up=True,  # numba scoring kernels
    )

    class Params(Params):
        k: int = Field(40, ge=1, description="neighbours used per prediction")
        min_k: int = Field(
            1, ge=0, description="fewer rated neighbours than this: predict the baseline"
        )
        similarity: Literal["auto", "pearson-baseline", "cosine", "adjusted-cosine"] = Field(
            "auto",
            description="auto = pearson-baseline for ratings, cosine for implicit feedback",
        )
        shrinkage: float = Field(
            100.0, ge=0, description="shrink similarities supported by few common users"
        )
        min_similarity: float = Field(
            0.0, ge=0, lt=1, description="keep only similarities above this"
        )
        max_neighbors: int = Field(
            1000, ge=1, description="most similar items kept per item (memory: items x this)"
        )
        reg_items: float = Field(10.0, ge=0, description="regularisation of the item biases")
        reg_users: float = Field(15.0, ge=0, description="regularisation of the user biases")
        bias_iterations: int = Field(
            10, ge=0, description="alternating least-squares sweeps fitting the biases"
        )

    # -- fitting --------------------------------------------------------------------------------
    def _similarity_kind(self, explicit: bool) -> str:
        kind = self.params.similarity
        if kind == "auto":
            return "pearson-baseline" if explicit else "cosine"
        if not explicit and kind != "cosine":
            raise ParamError(
                f"parameter 'similarity' of {self.owner()}: got {kind!r}, "
                "expected 'cosine' or 'auto' for implicit feedback"
            )
        return kind

    def _fit(self, train: Interactions, *, callback: Any, validation: Any) -> None:
        p = self.params
        explicit = train.is_explicit
        kind = self._similarity_kind(explicit)
        x = train.csr()
        users = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        items = x.indices
        values = x.data.astype(np.float64)
        if explicit:
            mu, bu, bi = self._fit_biases(users, items, values, x.shape)
            residual = values - mu - bu[users] - bi[items]
        else:
            mu, bu, bi = 0.0, np.zeros(x.shape[0]), np.zeros(x.shape[1])
            residual = np.ones_like(values)
        if kind == "pearson-baseline":
            z_data = residual
        elif kind == "adjusted-cosine":
            sums = np.bincount(users, weights=values, minlength=x.shape[0])
            counts = np.maximum(np.diff(x.indptr), 1)
            z_data = values - (sums / counts)[users]
        else:
            z_data = values
        z = sp.csr_matrix((z_data, x.indices, x.indptr), shape=x.shape)
        sim = item_similarities(
            z,
            co_rated=kind == "pearson-baseline",
            shrinkage=p.shrinkage,
            min_similarity=p.min_similarity,
            n_neighbors=min(p.max_neighbors, max(x.shape[1] - 1, 1)),
        )
        self.global_mean_ = float(mu)
        self.user_bias_ = bu.astype(np.float32)
        self.item_bias_ = bi.astype(np.float32)
        self.residuals_ = sp.csr_matrix((residual.astype(np.float32), x.indices, x.indptr), x.shape)
        self.similarity_ = sim
        self.similarity_kind_ = kind

    def _fit_biases(
        self, users: np.ndarray, items: np.ndarray, values: np.ndarray, shape: tuple[int, int]
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Regularised user and item biases by alternating least squares."""
        p = self.params
        mu = float(values.mean())
        n_u = np.bincount(users, minlength=shape[0])
        n_i = np.bincount(items, minlength=shape[1])
        bu, bi = np.zeros(shape[0]), np.zeros(shape[1])
        for _ in range(p.bias_iterations):
            bu = np.bincount(users, weights=values - mu - bi[items], minlength=shape[0])
            bu /= _positive(p.reg_users + n_u)
            bi = np.bincount(items, weights=values - mu - bu[users], minlength=shape[1])
            bi /= _positive(p.reg_items + n_i)
        return mu, bu, bi

    # -- users ----------------------------------------------------------------------------------
    def _user_state(self, users: np.ndarray) -> UserState:
        inside = users >= 0
        bias = np.where(inside, self.user_bias_[np.where(inside, users, 0)], 0.0)
        return UserState(
            {"bias": bias.astype(np.float32), "row": users.astype(np.int64)},
            len(users),
            shared={"residuals": self.residuals_},
        )

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        n = history.shape[0]
        rows = np.repeat(np.arange(n), np.diff(history.indptr))
        items = history.indices
        if self.feedback_ == "explicit":
            offset = history.data - self.global_mean_ - self.item_bias_[items]
            bias = np.bincount(rows, weights=offset, minlength=n)
            bias /= _positive(self.params.reg_users + np.diff(history.indptr))
            residual = offset - bias[rows]
        else:
            bias = np.zeros(n)
            residual = np.ones(len(items))
        residuals = sp.csr_matrix(
            (residual.astype(np.float32), items, history.indptr), shape=history.shape
        )
        return UserState(
            {"bias": bias.astype(np.float32), "row": np.arange(n, dtype=np.int64)},
            n,
            shared={"residuals": residuals},
        )

    def _set_user_rows(self, rows: np.ndarray, state: UserState, n_users: int) -> None:
        self.user_bias_ = grow_rows(self.user_bias_, n_users)
        self.user_bias_[rows] = state["bias"]
        folded = state["residuals"][state["row"]]
        self.residuals_ = replace_rows(self.residuals_, rows, folded, n_users)

    # -- scoring --------------------------------------------------------------------------------
    def _kernel_args(self, state: UserState) -> tuple[Any, ...]:
        r = state["residuals"]
        return (state["row"], r.indptr, r.indices, r.data)

    def _options(self) -> tuple[Any, ...]:
        s, p = self.similarity_, self.params
        explicit = self.feedback_ == "explicit"
        return (s.indptr, s.indices, s.data, self.n_items_, p.k, p.min_k, explicit)

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        from workbench_example import _kernels  # numba: imported when first needed

        items = np.asarray(items, dtype=np.int64)
        adjust = _kernels.score_block(*self._kernel_args(state), items, *self._options())
        base = self.global_mean_ + state["bias"][:, None] + self.item_bias_[items][None, :]
        return (adjust + base).astype(np.float32)

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        from workbench_example import _kernels

        items = np.asarray(items, dtype=np.int64)
        adjust = _kernels.score_pairs(*self._kernel_args(state), items, *self._options())
        item_bias = np.where(items >= 0, self.item_bias_[np.where(items >= 0, items, 0)], 0.0)
        return (adjust + self.global_mean_ + state["bias"] + item_bias).astype(np.float32)

    # -- similar items --------------------------------------------------------------------------
    def similar_items(self, items: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most similar items of each item (its stored neighbours), best first."""
        self.check_fitted()
        k = min(check_k(k, where="similar_items", minimum=0), self.n_items_)
        idx = index_array(items, f"{self.owner()}: similar_items: item")
        if len(idx) and (idx.min() < 0 or idx.max() >= self.n_items_):
            raise DataError(f"{self.owner()}: similar_items: item index outside the model")
        s = self.similarity_
        scores = np.full((len(idx), self.n_items_), -np.inf, dtype=np.float32)
        for row, item in enumerate(idx):
            lo, hi = s.indptr[item], s.indptr[item + 1]
            scores[row, s.indices[lo:hi]] = s.data[lo:hi]
        return top_k(scores, np.arange(self.n_items_), k)

    # -- files ----------------------------------------------------------------------------------
    def _state_arrays(self) -> dict[str, np.ndarray]:
        s = self.similarity_
        return {
            "global_mean": np.asarray(self.global_mean_, dtype=np.float64),
            "user_bias": self.user_bias_,
            "item_bias": self.item_bias_,
            "residual_data": self.residuals_.data,
            "sim_indptr": s.indptr,
            "sim_indices": s.indices,
            "sim_data": s.data,
            "similarity_kind": np.asarray(self.similarity_kind_),
        }

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.global_mean_ = float(arrays["global_mean"])
        self.user_bias_ = np.asarray(arrays["user_bias"], dtype=np.float32)
        self.item_bias_ = np.asarray(arrays["item_bias"], dtype=np.float32)
        data = np.asarray(arrays["residual_data"], dtype=np.float32)
        seen = self.seen_
        if len(data) != seen.nnz:
            raise ValueError("residuals do not match the training interactions")
        self.residuals_ = sp.csr_matrix((data, seen.indices, seen.indptr), seen.shape)
        n = self.n_items_
        self.similarity_ = sp.csr_matrix(
            (arrays["sim_data"], arrays["sim_indices"], arrays["sim_indptr"]), shape=(n, n)
        )
        self.similarity_kind_ = str(arrays["similarity_kind"])
