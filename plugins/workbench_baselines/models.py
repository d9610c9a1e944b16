"""Baseline models: global mean, user and item biases (ALS or SGD), popularity."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.capabilities import Capabilities, ColdStart
from workbench.data import Interactions
from workbench.model import DivergenceGuard, EpochInfo, Model, TrainingCallback
from workbench.params import Params
from workbench.user_state import UserState, grow_rows


class _UserFreeModel(Model):
    """A model whose scores do not depend on the user (one score per item)."""

    capabilities = Capabilities(fold_in="custom", update_users=True, jit_warm_up=True)

    def _item_scores(self) -> np.ndarray:
        raise NotImplementedError  # abstractmethod

    def _user_state(self, users: np.ndarray) -> UserState:
        return UserState.of(n_rows=len(users))

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self._item_scores()[items], (len(state), len(items))).astype(
            np.float32
        )

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        scores = self._item_scores()
        return np.where(items >= 0, scores[np.where(items >= 0, items, 0)], self._cold_score())

    def _cold_score(self) -> float:
        raise NotImplementedError  # abstractmethod

    def _fold_in(self, history: sp.csr_matrix, **options: object) -> UserState:
        return UserState.of(n_rows=history.shape[0])

    def _set_user_rows(self, rows: np.ndarray, state: UserState, n_users: int) -> None:
        """Nothing per user to keep: every user gets the same scores."""


class GlobalMean(_UserFreeModel):
    """Predicts the mean training rating for every user and item (ranking: all items tie)."""

    name = "global-mean"
    capabilities = _UserFreeModel.capabilities.replace(
        cold_start=ColdStart(user="the global mean", item="the global mean")
    )

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Interactions | None
    ) -> None:
        self.global_mean_ = float(np.mean(train.value, dtype=np.float64))

    def _item_scores(self) -> np.ndarray:
        return np.full(self.n_items_, self.global_mean_, dtype=np.float32)

    def _cold_score(self) -> float:
        return self.global_mean_

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"global_mean": np.asarray(self.global_mean_, dtype=np.float64)}

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.global_mean_ = float(arrays["global_mean"])


class PopularityParams(Params):
    min_slope: float = Field(
        1e-3,
        gt=0,
        description="explicit data: smallest slope of the rating-scale map of log(1+count), "
        "so the ranking always follows the count",
    )


class Popularity(_UserFreeModel):
    """Most popular items: ranked by their number of training interactions."""

    name = "popularity"
    Params = PopularityParams
    capabilities = _UserFreeModel.capabilities.replace(
        cold_start=ColdStart(
            user="the same popularity ranking as everyone",
            item="never recommended (count 0); rating: the intercept of the count line",
        )
    )

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Interactions | None
    ) -> None:
        counts = self.item_counts_.astype(np.float64)
        self.counts_ = counts
        if train.is_explicit:
            # A rating-scale score that increases with the count: the least-squares line
            # of rating on log(1 + count of the rated item), slope at least min_slope.
            x = np.log1p(counts)[train.item]
            y = train.value.astype(np.float64)
            var = float(np.var(x))
            slope = float(np.cov(x, y, bias=True)[0, 1] / var) if var > 0 else 0.0
            slope = max(slope, self.params.min_slope)
            self.intercept_, self.slope_ = float(y.mean() - slope * x.mean()), slope
        else:
            self.intercept_, self.slope_ = 0.0, 1.0

    def _item_scores(self) -> np.ndarray:
        if self.feedback_ == "explicit":
            return (self.intercept_ + self.slope_ * np.log1p(self.counts_)).astype(np.float32)
        return self.counts_.astype(np.float32)

    def _cold_score(self) -> float:
        return self.intercept_

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts_, "line": np.array([self.intercept_, self.slope_])}

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.counts_ = np.asarray(arrays["counts"], dtype=np.float64)
        self.intercept_, self.slope_ = (float(v) for v in arrays["line"])


#: Defaults that depend on the method (chosen by 5-fold CV on MovieLens-100k, docs/models.md).
METHOD_DEFAULTS = {
    "als": {"reg_user": 5.0, "reg_item": 3.0, "n_epochs": 15},
    "sgd": {"reg_user": 0.02, "reg_item": 0.02, "n_epochs": 30},
}


class BiasesParams(Params):
    method: Literal["als", "sgd"] = Field(
        "als", description="als: alternating closed-form updates; sgd: stochastic gradient"
    )
    reg_user: float | None = Field(
        None, ge=0, description="L2 regularisation of user biases (default: 5 als, 0.02 sgd)"
    )
    reg_item: float | None = Field(
        None, ge=0, description="L2 regularisation of item biases (default: 3 als, 0.02 sgd)"
    )
    n_epochs: int | None = Field(
        None, ge=1, description="ALS sweeps or SGD epochs (default: 15 als, 30 sgd)"
    )
    lr: float = Field(0.005, gt=0, description="learning rate (sgd only)")
    seed: int = Field(0, ge=0, description="random seed (sgd shuffle order)")


class Biases(Model):
    """User and item biases, mu + b_u + b_i, fitted by ALS or SGD (Surprise's BaselineOnly)."""

    name = "biases"
    Params = BiasesParams
    capabilities = Capabilities(
        feedback=frozenset({"explicit"}),
        cold_start=ColdStart(user="mu + b_i (zero user bias)", item="mu + b_u; both cold: mu"),
        fold_in="ridge",
        update_users=True,
        jit_warm_up=True,
    )

    def setting(self, key: str) -> float:
        """A parameter with its method-dependent default resolved."""
        value = getattr(self.params, key)
        return METHOD_DEFAULTS[self.params.method][key] if value is None else value

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Interactions | None
    ) -> None:
        users = np.ascontiguousarray(train.user, dtype=np.int32)
        items = np.ascontiguousarray(train.item, dtype=np.int32)
        values = np.ascontiguousarray(train.value, dtype=np.float32)
        self.global_mean_ = float(np.mean(values, dtype=np.float64))
        self.user_bias_ = np.zeros(self.n_users_, dtype=np.float32)
        self.item_bias_ = np.zeros(self.n_items_, dtype=np.float32)
        n_epochs = int(self.setting("n_epochs"))
        rng = np.random.default_rng(self.params.seed)
        guard = DivergenceGuard(f"try a lower learning rate than lr={self.params.lr:g}")
        for epoch in range(1, n_epochs + 1):
            started = time.perf_counter()
            if self.params.method == "als":
                loss = self._als_sweep(users, items, values)
            else:
                loss = self._sgd_epoch(users, items, values, rng)
            guard.check(loss, epoch)
            callback(EpochInfo(epoch, n_epochs, loss, seconds=time.perf_counter() - started))

    def _after_fit(self) -> None:
        self.user_bias_[self.user_counts_ == 0] = 0.0
        self.item_bias_[self.item_counts_ == 0] = 0.0

    def _als_sweep(self, users: np.ndarray, items: np.ndarray, values: np.ndarray) -> float:
        mu = self.global_mean_
        resid = values - mu - self.user_bias_[users]
        sums = np.bincount(items, weights=resid, minlength=self.n_items_)
        self.item_bias_ = (sums / (self.setting("reg_item") + self.item_counts_)).astype(np.float32)
        resid = values - mu - self.item_bias_[items]
        sums = np.bincount(users, weights=resid, minlength=self.n_users_)
        self.user_bias_ = (sums / (self.setting("reg_user") + self.user_counts_)).astype(np.float32)
        err = resid - self.user_bias_[users]
        return float(np.mean(err.astype(np.float64) ** 2))

    def _sgd_epoch(
        self, users: np.ndarray, items: np.ndarray, values: np.ndarray, rng: np.random.Generator
    ) -> float:
        from workbench_baselines._kernels import bias_sgd_epoch

        order = rng.permutation(len(values))
        sse = bias_sgd_epoch(
            users=users[order],
            items=items[order],
            values=values[order],
            mu=np.float32(self.global_mean_),
            bu=self.user_bias_,
            bi=self.item_bias_,
            lr=np.float32(self.params.lr),
            reg_user=np.float32(self.setting("reg_user")),
            reg_item=np.float32(self.setting("reg_item")),
        )
        return sse / len(values)

    # -- scoring ------------------------------------------------------------------------------
    def _user_state(self, users: np.ndarray) -> UserState:
        inside = users >= 0
        bias = self.user_bias_[np.where(inside, users, 0)] * inside
        return UserState.of(bias=bias.astype(np.float32))

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        base = (self.item_bias_[items] + self.global_mean_)[None, :]
        return np.broadcast_to(base, (len(state), len(items))) + state["bias"][:, None]

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        inside = items >= 0
        return (
            state["bias"]
            + self.item_bias_[np.where(inside, items, 0)] * inside
            + (self.global_mean_)
        )

    # -- new users ----------------------------------------------------------------------------
    def _fold_in(self, history: sp.csr_matrix, **options: object) -> UserState:
        """Each new user's bias in closed form with item biases frozen: the ALS update
        ``sum(r - mu - b_i) / (reg_user + n)``, or for SGD its fixed point
        ``sum(r - mu - b_i) / (n (1 + reg_user))``."""
        n = history.shape[0]
        counts = np.diff(history.indptr)
        rows = np.repeat(np.arange(n), counts)
        resid = history.data - self.global_mean_ - self.item_bias_[history.indices]
        sums = np.bincount(rows, weights=resid, minlength=n)
        reg = self.setting("reg_user")
        denom = reg + counts if self.params.method == "als" else counts * (1.0 + reg)
        bias = np.divide(sums, denom, out=np.zeros(n), where=denom > 0)
        return UserState.of(bias=bias.astype(np.float32))

    def _set_user_rows(self, rows: np.ndarray, state: UserState, n_users: int) -> None:
        self.user_bias_ = grow_rows(self.user_bias_, n_users)
        self.user_bias_[rows] = state["bias"]

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {
            "global_mean": np.asarray(self.global_mean_, dtype=np.float64),
            "user_bias": self.user_bias_,
            "item_bias": self.item_bias_,
        }

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.global_mean_ = float(arrays["global_mean"])
        self.user_bias_ = np.asarray(arrays["user_bias"])
        self.item_bias_ = np.asarray(arrays["item_bias"])
