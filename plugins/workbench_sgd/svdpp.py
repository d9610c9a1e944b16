"""SVD++ (Koren 2008): biased MF plus implicit feedback from the set of rated items."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench_sgd.base import Ratings, SGDModel, SGDParams, UserParams

#: The rated items of the users an epoch updates: (indptr int64, indices int32).
RatedItems = tuple[np.ndarray, np.ndarray]


class SVDppParams(SGDParams.with_defaults(lr=0.007, lr_decay=0.96, reg=0.05, init_std=0.01)):
    reg_implicit: float = Field(
        0.05, ge=0, description="L2 regularisation of the implicit item factors y_j"
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

    def _init_params(self, ratings: Ratings, rng: np.random.Generator) -> RatedItems:
        p = self.params
        f = p.n_factors
        self.user_factors_ = rng.normal(0.0, p.init_std, (self.n_users_, f)).astype(np.float32)
        self.item_factors_ = rng.normal(0.0, p.init_std, (self.n_items_, f)).astype(np.float32)
        self.implicit_ = rng.normal(0.0, p.init_std, (self.n_items_, f)).astype(np.float32)
        never_rated = np.bincount(ratings.items, minlength=self.n_items_) == 0
        self.implicit_[never_rated] = 0.0
        self.user_bias_ = np.zeros(self.n_users_, dtype=np.float32)
        self.item_bias_ = np.zeros(self.n_items_, dtype=np.float32)
        rated = sp.csr_matrix(
            (np.ones(len(ratings), dtype=np.float32), (ratings.users, ratings.items)),
            shape=(self.n_users_, self.n_items_),
        )
        rated.sort_indices()
        return self._fold_in_context(rated)

    def _fold_in_context(self, history: sp.csr_matrix) -> RatedItems:
        return history.indptr.astype(np.int64), history.indices.astype(np.int32)

    def _grouped(self, ratings: Ratings, rng: np.random.Generator) -> Ratings:
        """Ratings grouped by user: users in random order, each user's ratings shuffled."""
        users = ratings.users
        perm = rng.permutation(len(ratings))
        rank = rng.permutation(int(users.max()) + 1)
        order = perm[np.argsort(rank[users[perm]], kind="stable")]
        return self._reordered(ratings, order)

    def _epoch(
        self,
        context: RatedItems,
        ratings: Ratings,
        rng: np.random.Generator,
        lr: float,
        users: UserParams,
    ) -> float:
        grouped = self._grouped(ratings, rng)
        indptr, indices = context
        return self._svdpp().svdpp_epoch(
            users=grouped.users,
            items=grouped.items,
            values=grouped.values,
            indptr=indptr,
            indices=indices,
            mu=np.float32(self.global_mean_),
            y=self.implicit_,
            reg_implicit=np.float32(self.params.reg_implicit),
            **self._update_args(users, lr),
        )

    def _fold_in_factors(self, context: RatedItems, factors: np.ndarray) -> np.ndarray:
        """The effective factors p_u + |N(u)|^-1/2 sum y_j (what scoring uses)."""
        return self._svdpp().effective_factors(factors, *context, self.implicit_)

    def _end_training(self, context: RatedItems) -> None:
        self.user_factors_ = self._fold_in_factors(context, self.user_factors_)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {**super()._state_arrays(), "implicit_factors": self.implicit_}

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        super()._set_state_arrays(arrays)
        self.implicit_ = np.asarray(arrays["implicit_factors"])
