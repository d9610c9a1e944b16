"""Kernel matrix factorisation (Rendle and Schmidt-Thieme 2008): a kernel of ``p_u`` and
``q_i`` mapped onto the rating scale, trained by SGD."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import ModuleType
from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.model import UserState
from workbench_sgd.base import SGDModel, SGDParams

KERNELS = {"linear": 0, "sigmoid": 1, "logistic": 1, "rbf": 2}


class KernelMFParams(SGDParams):
    kernel: Literal["linear", "sigmoid", "logistic", "rbf"] = Field(
        "linear",
        description="linear: mu + b_u + b_i + p.q; sigmoid (= logistic): "
        "lo + (hi-lo) sigmoid(c + b_u + b_i + p.q); rbf: c + b_u + b_i + "
        "(hi-lo) exp(-gamma ||p-q||^2)",
    )
    gamma: float = Field(0.5, gt=0, description="rbf kernel coefficient (other kernels: unused)")
    n_factors: int = Field(100, ge=1, description="latent factors per user and item")
    n_epochs: int = Field(40, ge=1, description="passes over the shuffled training ratings")
    lr: float | None = Field(
        None,
        gt=0,
        description="learning rate (step size) of SGD; default 0.02 for sigmoid (its "
        "slope damps the gradient), 0.01 for linear and rbf",
    )
    lr_decay: float = Field(
        0.97, gt=0, le=1, description="multiply the learning rate by this after every epoch"
    )
    reg: float = Field(0.05, ge=0, description="L2 regularisation of the factors")
    reg_bias: float = Field(0.02, ge=0, description="L2 regularisation of the biases")
    init_std: float = Field(
        0.01, gt=0, description="standard deviation of the normal initial factors"
    )


class KernelMF(SGDModel):
    """Kernel matrix factorisation by SGD (linear, sigmoid or rbf kernel), with update_users."""

    name = "kernel-mf"
    Params = KernelMFParams

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

    def _scale(self) -> tuple[float, float]:
        lo, hi = self.rating_scale_ if self.rating_scale_ is not None else self._value_range
        return float(lo), float(hi - lo) if hi > lo else 1.0

    def _init_params(
        self, users: np.ndarray, items: np.ndarray, values: np.ndarray, rng: np.random.Generator
    ) -> None:
        p = self.params
        f = p.n_factors
        self._value_range = (float(values.min()), float(values.max()))
        self.user_factors_ = rng.normal(0.0, p.init_std, (self.n_users_, f)).astype(np.float32)
        self.item_factors_ = rng.normal(0.0, p.init_std, (self.n_items_, f)).astype(np.float32)
        self.user_bias_ = np.zeros(self.n_users_, dtype=np.float32)
        self.item_bias_ = np.zeros(self.n_items_, dtype=np.float32)
        lo, span = self._scale()
        self.scale_ = np.array([lo, span], dtype=np.float64)
        mu = self.global_mean_
        if self._kernel_code == KERNELS["sigmoid"]:
            frac = min(max((mu - lo) / span, 1e-3), 1 - 1e-3)
            self.offset_ = math.log(frac / (1 - frac))
        elif self._kernel_code == KERNELS["rbf"]:
            self.offset_ = 0.0
            k = self._predict_pairs(users, items) / span  # biases are still zero
            self.offset_ = mu - span * float(np.mean(k, dtype=np.float64))
        else:
            self.offset_ = mu

    def _args(self) -> tuple:
        lo, span = self.scale_
        return (
            self._kernel_code,
            np.float32(self.offset_),
            np.float32(lo),
            np.float32(span),
            np.float32(self.params.gamma),
        )

    def _run_epoch(
        self,
        users: np.ndarray,
        items: np.ndarray,
        values: np.ndarray,
        rng: np.random.Generator,
        lr: float,
    ) -> float:
        p = self.params
        u, i, r = self._shuffled(users, items, values, rng)
        sse, total = self._kmf().EPOCHS[self._kernel_code](
            u,
            i,
            r,
            *self._args()[1:],
            self.user_bias_,
            self.item_bias_,
            self.user_factors_,
            self.item_factors_,
            np.float32(lr),
            np.float32(p.reg),
            np.float32(p.reg_bias),
            True,
        )
        if self._kernel_code == KERNELS["rbf"] and math.isfinite(total):
            self.offset_ += total / len(r)  # re-centre the kernel term on the mean rating
        return sse / len(r)

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self._kmf().kernel_predict(
            users,
            items,
            *self._args(),
            self.user_bias_,
            self.item_bias_,
            self.user_factors_,
            self.item_factors_,
        )

    def _fold_in_users(
        self, history: sp.csr_matrix, n_epochs: int
    ) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        n = history.shape[0]
        factors = np.zeros((n, self.item_factors_.shape[1]), dtype=np.float32)
        bias = np.zeros(n, dtype=np.float32)
        users = np.repeat(np.arange(n, dtype=np.int32), np.diff(history.indptr))
        items = history.indices.astype(np.int32)
        values = history.data.astype(np.float32)
        rng = self._fold_in_rng()
        for _ in range(n_epochs):
            u, i, r = self._shuffled(users, items, values, rng)
            self._kmf().EPOCHS[self._kernel_code](
                u,
                i,
                r,
                *self._args()[1:],
                bias,
                self.item_bias_,
                factors,
                self.item_factors_,
                np.float32(self._fold_in_lr()),
                np.float32(p.reg),
                np.float32(p.reg_bias),
                False,
            )
        return factors, bias

    # -- scoring (the FactorModel formulas, through the kernel) -------------------------------
    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        q = self.item_factors_[items]
        base = state["bias"][:, None] + (self.item_bias_[items] + self.offset_)[None, :]
        return self._link(base, state["factors"], q, state["factors"] @ q.T)

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        inside = items >= 0
        safe = np.where(inside, items, 0)
        q = self.item_factors_[safe] * inside[:, None]
        base = state["bias"] + self.item_bias_[safe] * inside + self.offset_
        pq = np.einsum("ij,ij->i", state["factors"], q)
        pp = np.einsum("ij,ij->i", state["factors"], state["factors"])
        qq = np.einsum("ij,ij->i", q, q)
        return self._apply(base, pp, qq, pq)

    def _link(self, base: np.ndarray, p: np.ndarray, q: np.ndarray, pq: np.ndarray) -> np.ndarray:
        pp = np.einsum("ij,ij->i", p, p)[:, None]
        qq = np.einsum("ij,ij->i", q, q)[None, :]
        return self._apply(base, pp, qq, pq)

    def _apply(
        self, base: np.ndarray, pp: np.ndarray, qq: np.ndarray, pq: np.ndarray
    ) -> np.ndarray:
        lo, span = self.scale_
        code = self._kernel_code
        if code == KERNELS["rbf"]:
            dist = np.maximum(pp + qq - 2.0 * pq, 0.0)
            out = base + span * np.exp(-self.params.gamma * dist)
        elif code == KERNELS["sigmoid"]:
            from scipy.special import expit

            out = lo + span * expit(base + pq)
        else:
            out = base + pq
        return np.asarray(out, dtype=np.float32)

    def item_embeddings(self) -> np.ndarray:
        return self.item_factors_

    def _state_arrays(self) -> dict[str, np.ndarray]:
        arrays = super()._state_arrays()
        arrays["offset"] = np.asarray(self.offset_, dtype=np.float64)
        arrays["scale"] = self.scale_
        return arrays

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        super()._set_state_arrays(arrays)
        self.offset_ = float(arrays["offset"])
        self.scale_ = np.asarray(arrays["scale"], dtype=np.float64)
