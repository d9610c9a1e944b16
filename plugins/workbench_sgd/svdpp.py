"""SVD++ (Koren 2008): biased MF plus implicit feedback from the set of rated items."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench_sgd.base import SGDModel, SGDParams


class SVDppParams(SGDParams):
    n_factors: int = Field(100, ge=1, description="latent factors per user and item")
    n_epochs: int = Field(40, ge=1, description="passes over the training ratings")
    lr: float = Field(0.007, gt=0, description="learning rate (step size) of SGD")
    lr_decay: float = Field(
        0.96, gt=0, le=1, description="multiply the learning rate by this after every epoch"
    )
    reg: float = Field(0.05, ge=0, description="L2 regularisation of p_u and q_i")
    reg_bias: float = Field(0.02, ge=0, description="L2 regularisation of the biases")
    reg_implicit: float = Field(
        0.05, ge=0, description="L2 regularisation of the implicit item factors y_j"
    )
    init_std: float = Field(
        0.01, gt=0, description="standard deviation of the normal initial factors"
    )


class SVDpp(SGDModel):
    """SVD++: mu + b_u + b_i + q_i . (p_u + |N(u)|^-1/2 sum of y_j over the rated items)."""

    name = "svdpp"
    Params = SVDppParams
    _param_names = ("user_bias_", "item_bias_", "user_factors_", "item_factors_", "implicit_")

    @staticmethod
    def _svdpp() -> ModuleType:
        from workbench_sgd import _svdpp_kernels

        return _svdpp_kernels

    def _init_params(
        self, users: np.ndarray, items: np.ndarray, values: np.ndarray, rng: np.random.Generator
    ) -> None:
        p = self.params
        f = p.n_factors
        self.user_factors_ = rng.normal(0.0, p.init_std, (self.n_users_, f)).astype(np.float32)
        self.item_factors_ = rng.normal(0.0, p.init_std, (self.n_items_, f)).astype(np.float32)
        self.implicit_ = rng.normal(0.0, p.init_std, (self.n_items_, f)).astype(np.float32)
        self.implicit_[np.bincount(items, minlength=self.n_items_) == 0] = 0.0  # never rated
        self.user_bias_ = np.zeros(self.n_users_, dtype=np.float32)
        self.item_bias_ = np.zeros(self.n_items_, dtype=np.float32)
        rated = sp.csr_matrix(
            (np.ones(len(users), dtype=np.float32), (users, items)),
            shape=(self.n_users_, self.n_items_),
        )
        rated.sort_indices()
        self._rated = (rated.indptr.astype(np.int64), rated.indices.astype(np.int32))

    def _grouped(
        self, users: np.ndarray, items: np.ndarray, values: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ratings grouped by user: users in random order, each user's ratings shuffled."""
        perm = rng.permutation(len(values))
        rank = rng.permutation(int(users.max()) + 1)
        order = perm[np.argsort(rank[users[perm]], kind="stable")]
        out = (np.empty_like(users), np.empty_like(items), np.empty_like(values))
        self._kernels().gather(order, users, items, values, *out)
        return out

    def _run_epoch(
        self,
        users: np.ndarray,
        items: np.ndarray,
        values: np.ndarray,
        rng: np.random.Generator,
        lr: float,
    ) -> float:
        p = self.params
        u, i, r = self._grouped(users, items, values, rng)
        sse = self._svdpp().svdpp_epoch(
            u,
            i,
            r,
            *self._rated,
            np.float32(self.global_mean_),
            self.user_bias_,
            self.item_bias_,
            self.user_factors_,
            self.item_factors_,
            self.implicit_,
            np.float32(lr),
            np.float32(p.reg),
            np.float32(p.reg_bias),
            np.float32(p.reg_implicit),
            True,
        )
        return sse / len(r)

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        effective = self._svdpp().effective_factors(
            self.user_factors_, *self._rated, self.implicit_
        )
        return self._kernels().mf_predict(
            users,
            items,
            np.float32(self.global_mean_),
            self.user_bias_,
            self.item_bias_,
            effective,
            self.item_factors_,
        )

    def _end_training(self) -> None:
        self.user_factors_ = self._svdpp().effective_factors(
            self.user_factors_, *self._rated, self.implicit_
        )
        del self._rated

    def _fold_in_users(
        self, history: sp.csr_matrix, n_epochs: int
    ) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        n = history.shape[0]
        factors = np.zeros((n, self.item_factors_.shape[1]), dtype=np.float32)
        bias = np.zeros(n, dtype=np.float32)
        indptr = history.indptr.astype(np.int64)
        indices = history.indices.astype(np.int32)
        if n == 0:
            return factors, bias
        users = np.repeat(np.arange(n, dtype=np.int32), np.diff(indptr))
        values = history.data.astype(np.float32)
        rng = self._fold_in_rng()
        for _ in range(n_epochs):
            u, i, r = self._grouped(users, indices, values, rng)
            self._svdpp().svdpp_epoch(
                u,
                i,
                r,
                indptr,
                indices,
                np.float32(self.global_mean_),
                bias,
                self.item_bias_,
                factors,
                self.item_factors_,
                self.implicit_,
                np.float32(self._fold_in_lr()),
                np.float32(p.reg),
                np.float32(p.reg_bias),
                np.float32(p.reg_implicit),
                False,
            )
        return self._svdpp().effective_factors(factors, indptr, indices, self.implicit_), bias

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {**super()._state_arrays(), "implicit_factors": self.implicit_}

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        super()._set_state_arrays(arrays)
        self.implicit_ = np.asarray(arrays["implicit_factors"])
