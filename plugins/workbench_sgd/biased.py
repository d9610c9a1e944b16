"""Biased matrix factorisation trained by SGD (Funk SVD; Koren, Bell and Volinsky 2009)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench_sgd.base import SGDModel, SGDParams


class BiasedMFParams(SGDParams):
    """Defaults chosen by 5-fold cross-validation on MovieLens-100k (docs/models.md)."""

    n_factors: int = Field(100, ge=1, description="latent factors per user and item")
    n_epochs: int = Field(60, ge=1, description="passes over the shuffled training ratings")
    lr: float = Field(0.01, gt=0, description="learning rate (step size) of SGD")
    lr_decay: float = Field(
        0.97, gt=0, le=1, description="multiply the learning rate by this after every epoch"
    )
    reg: float = Field(0.04, ge=0, description="L2 regularisation of the factors")
    reg_bias: float = Field(0.02, ge=0, description="L2 regularisation of the biases")
    init_std: float = Field(
        0.01, gt=0, description="standard deviation of the normal initial factors"
    )
    biased: bool = Field(
        True, description="learn user and item biases (false: mu + p_u . q_i only)"
    )


class BiasedMF(SGDModel):
    """Biased matrix factorisation (Funk SVD) by SGD: mu + b_u + b_i + p_u . q_i."""

    name = "sgd"
    Params = BiasedMFParams

    def _init_params(
        self, users: np.ndarray, items: np.ndarray, values: np.ndarray, rng: np.random.Generator
    ) -> None:
        p = self.params
        shape_u, shape_i = (self.n_users_, p.n_factors), (self.n_items_, p.n_factors)
        self.user_factors_ = rng.normal(0.0, p.init_std, shape_u).astype(np.float32)
        self.item_factors_ = rng.normal(0.0, p.init_std, shape_i).astype(np.float32)
        self.user_bias_ = np.zeros(self.n_users_, dtype=np.float32)
        self.item_bias_ = np.zeros(self.n_items_, dtype=np.float32)

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
        sse = self._kernels().mf_epoch(
            u,
            i,
            r,
            np.float32(self.global_mean_),
            self.user_bias_,
            self.item_bias_,
            self.user_factors_,
            self.item_factors_,
            np.float32(lr),
            np.float32(p.reg),
            np.float32(p.reg_bias),
            p.biased,
            True,
        )
        return sse / len(r)

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self._kernels().mf_predict(
            users,
            items,
            np.float32(self.global_mean_),
            self.user_bias_,
            self.item_bias_,
            self.user_factors_,
            self.item_factors_,
        )

    def _fold_in_users(
        self, history: sp.csr_matrix, n_epochs: int
    ) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        k = self._kernels()
        n = history.shape[0]
        factors = np.zeros((n, self.item_factors_.shape[1]), dtype=np.float32)
        bias = np.zeros(n, dtype=np.float32)
        users = np.repeat(np.arange(n, dtype=np.int32), np.diff(history.indptr))
        items = history.indices.astype(np.int32)
        values = history.data.astype(np.float32)
        rng = self._fold_in_rng()
        for _ in range(n_epochs):
            u, i, r = self._shuffled(users, items, values, rng)
            k.mf_epoch(
                u,
                i,
                r,
                np.float32(self.global_mean_),
                bias,
                self.item_bias_,
                factors,
                self.item_factors_,
                np.float32(self._fold_in_lr()),
                np.float32(p.reg),
                np.float32(p.reg_bias),
                p.biased,
                False,
            )
        return factors, bias
