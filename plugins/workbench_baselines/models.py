"""Baseline models: global mean, user and item biases (ALS or SGD), popularity."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.data import Interactions
from workbench.errors import TrainingDiverged
from workbench.model import EpochInfo, FactorModel, Model, TrainingCallback, UserState
from workbench.params import Params


class _UserFreeModel(Model):
    """A model whose scores do not depend on the user (one score per item)."""

    def _item_scores(self) -> np.ndarray:
        raise NotImplementedError  # abstractmethod

    def _user_state(self, users: np.ndarray) -> UserState:
        return {"known": (users >= 0).astype(np.float32)}

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        n = len(state["known"])
        return np.broadcast_to(self._item_scores()[items], (n, len(items))).astype(np.float32)

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        scores = self._item_scores()
        return np.where(items >= 0, scores[np.where(items >= 0, items, 0)], self._cold_score())

    def _cold_score(self) -> float:
        raise NotImplementedError  # abstractmethod

    def _fold_in(self, history: sp.csr_matrix) -> UserState:
        return {"known": np.ones(history.shape[0], dtype=np.float32)}


class GlobalMean(_UserFreeModel):
    """Predicts the mean training rating for every user and item (ranking: all items tie)."""

    name = "global-mean"

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


class Biases(FactorModel):
    """User and item biases, mu + b_u + b_i, fitted by ALS or SGD (Surprise's BaselineOnly)."""

    name = "biases"
    Params = BiasesParams
    feedback = frozenset({"explicit"})

    def setting(self, key: str) -> float:
        """A parameter with its method-dependent default resolved."""
        value = getattr(self.params, key)
        return METHOD_DEFAULTS[self.params.method][key] if value is None else value

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Interactions | None
    ) -> None:
        try:
            self._fit_biases(train, callback)
        except BaseException:
            # a failed fit (e.g. diverged) must not look fitted
            for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
                delattr(self, key)
            raise

    def _fit_biases(self, train: Interactions, callback: TrainingCallback) -> None:
        users = np.ascontiguousarray(train.user, dtype=np.int32)
        items = np.ascontiguousarray(train.item, dtype=np.int32)
        values = np.ascontiguousarray(train.value, dtype=np.float32)
        self.global_mean_ = float(np.mean(values, dtype=np.float64))
        self.user_bias_ = np.zeros(self.n_users_, dtype=np.float32)
        self.item_bias_ = np.zeros(self.n_items_, dtype=np.float32)
        self.user_factors_ = np.zeros((self.n_users_, 0), dtype=np.float32)
        self.item_factors_ = np.zeros((self.n_items_, 0), dtype=np.float32)
        n_epochs = int(self.setting("n_epochs"))
        rng = np.random.default_rng(self.params.seed)
        first = None
        for epoch in range(1, n_epochs + 1):
            started = time.perf_counter()
            if self.params.method == "als":
                loss = self._als_sweep(users, items, values)
            else:
                loss = self._sgd_epoch(users, items, values, rng)
            hint = f"try a lower learning rate than lr={self.params.lr:g}"
            self.check_loss(loss, epoch, hint)
            if first is not None and loss > 1e6 * max(first, 1e-12):
                raise TrainingDiverged(
                    f"training diverged at epoch {epoch} (loss {loss:.4g}); {hint}"
                )
            first = loss if first is None else first
            callback(EpochInfo(epoch, n_epochs, loss, seconds=time.perf_counter() - started))

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
            users[order],
            items[order],
            values[order],
            np.float32(self.global_mean_),
            self.user_bias_,
            self.item_bias_,
            np.float32(self.params.lr),
            np.float32(self.setting("reg_user")),
            np.float32(self.setting("reg_item")),
        )
        return sse / len(values)

    def _fold_in(self, history: sp.csr_matrix) -> UserState:
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
        return {"factors": np.zeros((n, 0), dtype=np.float32), "bias": bias.astype(np.float32)}

    def item_embeddings(self) -> None:
        return None
