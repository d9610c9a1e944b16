"""Kernel matrix factorisation (Rendle and Schmidt-Thieme 2008): a kernel of ``p_u`` and
``q_i`` mapped onto the rating scale, trained by SGD."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import ModuleType
from typing import Any, Literal

import numpy as np
from pydantic import Field

from workbench.capabilities import ColdStart
from workbench.factor.scoring import DotScorer
from workbench.user_state import UserState
from workbench_sgd.base import Ratings, SGDModel, SGDParams, UserParams

KERNELS = {"linear": 0, "sigmoid": 1, "logistic": 1, "rbf": 2}


class KernelMFParams(SGDParams.with_defaults(lr_decay=0.97, init_std=0.01)):
    kernel: Literal["linear", "sigmoid", "logistic", "rbf"] = Field(
        "linear",
        description="linear: mu + b_u + b_i + p.q; sigmoid (= logistic): "
        "lo + (hi-lo) sigmoid(c + b_u + b_i + p.q); rbf: c + b_u + b_i + "
        "(hi-lo) exp(-gamma ||p-q||^2)",
    )
    gamma: float = Field(0.5, gt=0, description="rbf kernel coefficient (other kernels: unused)")
    # A different type from SGDParams.lr: None picks a kernel-dependent rate.
    lr: float | None = Field(
        None,
        gt=0,
        description="learning rate (step size) of SGD; default 0.02 for sigmoid (its "
        "slope damps the gradient), 0.01 for linear and rbf",
    )


class KernelScorer(DotScorer):
    """The scorer of `KernelMF`: the embedding formulas through the model's kernel (linear:
    ``c + b_u + b_i + p.q``; sigmoid: ``lo + span sigmoid(c + b_u + b_i + p.q)``; rbf:
    ``c + b_u + b_i + span exp(-gamma ||p - q||^2)``); user state as `DotScorer`'s."""

    def block(self, model: Any, state: UserState, items: np.ndarray) -> np.ndarray:
        q = model.item_factors_[items]
        base = state["bias"][:, None] + (model.item_bias_[items] + model.offset_)[None, :]
        p = state["factors"]
        pp = np.einsum("ij,ij->i", p, p)[:, None]
        qq = np.einsum("ij,ij->i", q, q)[None, :]
        return self._apply(model, base, pp, qq, p @ q.T)

    def pairs(self, model: Any, state: UserState, items: np.ndarray) -> np.ndarray:
        inside = items >= 0
        safe = np.where(inside, items, 0)
        q = model.item_factors_[safe] * inside[:, None]
        base = state["bias"] + model.item_bias_[safe] * inside + model.offset_
        pq = np.einsum("ij,ij->i", state["factors"], q)
        pp = np.einsum("ij,ij->i", state["factors"], state["factors"])
        qq = np.einsum("ij,ij->i", q, q)
        return self._apply(model, base, pp, qq, pq)

    @staticmethod
    def _apply(
        model: Any, base: np.ndarray, pp: np.ndarray, qq: np.ndarray, pq: np.ndarray
    ) -> np.ndarray:
        lo, span = model.scale_
        code = KERNELS[model.params.kernel]
        if code == KERNELS["rbf"]:
            dist = np.maximum(pp + qq - 2.0 * pq, 0.0)
            out = base + span * np.exp(-model.params.gamma * dist)
        elif code == KERNELS["sigmoid"]:
            from scipy.special import expit

            out = lo + span * expit(base + pq)
        else:
            out = base + pq
        return np.asarray(out, dtype=np.float32)


class KernelMF(SGDModel):
    """Kernel matrix factorisation by SGD (linear, sigmoid or rbf kernel), with update_users."""

    name = "kernel-mf"
    Params = KernelMFParams
    capabilities = SGDModel.capabilities.replace(
        cold_start=ColdStart(
            user="zero bias and zero vector (the prior mean): the kernel of (0, q_i) plus b_i",
            item="zero bias and zero vector: the kernel of (p_u, 0) plus b_u",
        )
    )
    scorer = KernelScorer()

    @staticmethod
    def _kmf() -> ModuleType:
        from workbench_sgd import _kernel_mf_kernels

        return _kernel_mf_kernels

    @property
    def _kernel_code(self) -> int:
        return KERNELS[self.params.kernel]

    def _base_lr(self) -> float:
        if self.params.lr is not None:
            return self.params.lr
        return 0.02 if self._kernel_code == KERNELS["sigmoid"] else 0.01

    def _init_params(self, ratings: Ratings, rng: np.random.Generator) -> None:
        p = self.params
        f = p.n_factors
        self.user_factors_ = rng.normal(0.0, p.init_std, (self.n_users_, f)).astype(np.float32)
        self.item_factors_ = rng.normal(0.0, p.init_std, (self.n_items_, f)).astype(np.float32)
        self.user_bias_ = np.zeros(self.n_users_, dtype=np.float32)
        self.item_bias_ = np.zeros(self.n_items_, dtype=np.float32)
        lo, hi = (
            self.rating_scale_
            if self.rating_scale_ is not None
            else (float(ratings.values.min()), float(ratings.values.max()))
        )
        span = float(hi - lo) if hi > lo else 1.0
        self.scale_ = np.array([float(lo), span], dtype=np.float64)
        mu = self.global_mean_
        if self._kernel_code == KERNELS["sigmoid"]:
            frac = min(max((mu - lo) / span, 1e-3), 1 - 1e-3)
            self.offset_ = math.log(frac / (1 - frac))
        elif self._kernel_code == KERNELS["rbf"]:
            self.offset_ = 0.0
            k = self._predict_pairs(None, ratings.users, ratings.items) / span  # biases are 0
            self.offset_ = mu - span * float(np.mean(k, dtype=np.float64))
        else:
            self.offset_ = mu

    def _args(self) -> dict[str, Any]:
        lo, span = self.scale_
        return {
            "c": np.float32(self.offset_),
            "lo": np.float32(lo),
            "span": np.float32(span),
            "gamma": np.float32(self.params.gamma),
        }

    def _epoch(
        self,
        context: Any,
        ratings: Ratings,
        rng: np.random.Generator,
        lr: float,
        users: UserParams,
    ) -> float:
        shuffled = self._shuffled(ratings, rng)
        sse, total = self._kmf().EPOCHS[self._kernel_code](
            users=shuffled.users,
            items=shuffled.items,
            values=shuffled.values,
            **self._args(),
            **self._update_args(users, lr),
        )
        training = users.update_items
        if training and self._kernel_code == KERNELS["rbf"] and math.isfinite(total):
            self.offset_ += total / len(ratings)  # re-centre the kernel term on the mean rating
        return sse

    def _predict_pairs(self, context: Any, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self._kmf().kernel_predict(
            users=users,
            items=items,
            kernel=self._kernel_code,
            **self._args(),
            bu=self.user_bias_,
            bi=self.item_bias_,
            p=self.user_factors_,
            q=self.item_factors_,
        )

    def _state_arrays(self) -> dict[str, np.ndarray]:
        arrays = super()._state_arrays()
        arrays["offset"] = np.asarray(self.offset_, dtype=np.float64)
        arrays["scale"] = self.scale_
        return arrays

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        super()._set_state_arrays(arrays)
        self.offset_ = float(arrays["offset"])
        self.scale_ = np.asarray(arrays["scale"], dtype=np.float64)
