"""Biased matrix factorisation trained by SGD (Funk SVD; Koren, Bell and Volinsky 2009)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from workbench_sgd.base import Ratings, SGDModel, SGDParams, UserParams


class BiasedMFParams(SGDParams.with_defaults(n_epochs=60, lr_decay=0.97, reg=0.04, init_std=0.01)):
    """Defaults chosen by 5-fold cross-validation on MovieLens-100k (docs/models.md)."""

    biased: bool = Field(
        True, description="learn user and item biases (false: mu + p_u . q_i only)"
    )


class BiasedMF(SGDModel):
    """Biased matrix factorisation (Funk SVD) by SGD: mu + b_u + b_i + p_u . q_i."""

    name = "sgd"
    Params = BiasedMFParams

    def _init_params(self, ratings: Ratings, rng: np.random.Generator) -> None:
        p = self.params
        shape_u, shape_i = (self.n_users_, p.n_factors), (self.n_items_, p.n_factors)
        self.user_factors_ = rng.normal(0.0, p.init_std, shape_u).astype(np.float32)
        self.item_factors_ = rng.normal(0.0, p.init_std, shape_i).astype(np.float32)
        self.user_bias_ = np.zeros(self.n_users_, dtype=np.float32)
        self.item_bias_ = np.zeros(self.n_items_, dtype=np.float32)

    def _epoch(
        self,
        context: Any,
        ratings: Ratings,
        rng: np.random.Generator,
        lr: float,
        users: UserParams,
    ) -> float:
        shuffled = self._shuffled(ratings, rng)
        return self._kernels().mf_epoch(
            users=shuffled.users,
            items=shuffled.items,
            values=shuffled.values,
            mu=np.float32(self.global_mean_),
            biased=self.params.biased,
            **self._update_args(users, lr),
        )

    def _predict_pairs(self, context: Any, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self._kernels().mf_predict(
            users=users,
            items=items,
            mu=np.float32(self.global_mean_),
            bu=self.user_bias_,
            bi=self.item_bias_,
            p=self.user_factors_,
            q=self.item_factors_,
        )
