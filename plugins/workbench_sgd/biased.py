"""Biased matrix factorisation trained by SGD (Funk SVD; Koren, Bell and Volinsky 2009)."""

from __future__ import annotations

from contextlib import nullcontext
from functools import partial
from typing import Any, Literal

import numpy as np
from pydantic import Field

from workbench_sgd.base import Ratings, SGDModel, SGDParams, UserParams
from workbench_sgd.grid import GridRatings, _numba_threads, grid_ratings


class BiasedMFParams(SGDParams.with_defaults(n_epochs=60, lr_decay=0.97, reg=0.04, init_std=0.01)):
    """Defaults chosen by 5-fold cross-validation on MovieLens-100k (docs/models.md)."""

    biased: bool = Field(
        True, description="learn user and item biases (false: mu + p_u . q_i only)"
    )
    shuffle: Literal["full", "blocked"] = Field(
        "full",
        description="order of an epoch: 'full' a fresh random permutation of the ratings; "
        "'blocked' the ratings sorted by user, cut into blocks of block_size, the blocks in "
        "random order and each block shuffled (seeded too; several times faster from about a "
        "million ratings on, where a full shuffle misses the CPU caches)",
    )
    block_size: int = Field(
        8192, ge=16, description="ratings per block of shuffle=blocked (and of n_threads > 1)"
    )
    n_threads: int = Field(
        1,
        ge=1,
        le=512,
        description="threads of parallel SGD; above 1 the epoch order is blocked and cut into "
        "a grid of user x item groups (LIBMF's block scheduling, a fixed schedule): results "
        "are bit-identical for a given seed, the same for 2 to 4 threads",
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

    def _is_blocked(self) -> bool:
        return self.params.shuffle == "blocked" or self.params.n_threads > 1

    def _epoch_ratings(self, ratings: Ratings) -> Ratings:
        if not self._is_blocked():
            return ratings
        by_user = self._by_user(ratings)
        if self.params.n_threads > 1:
            return grid_ratings(self, by_user, self.params.n_threads, self.params.seed)
        return by_user

    def _epoch(
        self,
        context: Any,
        ratings: Ratings,
        rng: np.random.Generator,
        lr: float,
        users: UserParams,
    ) -> float:
        p = self.params
        kernels = self._kernels()
        update = self._update_args(users, lr)
        if isinstance(ratings, GridRatings):  # the grid: cells on the threads
            epoch = partial(
                kernels.mf_epoch_grid,
                **ratings.epoch_args(p.block_size, int(rng.integers(2**63 - 1))),
            )
            arguments, threads = ratings.packed(update), _numba_threads(p.n_threads)
        else:
            epoch, arguments, threads = kernels.mf_epoch, nullcontext(update), nullcontext()
            if self._is_blocked():
                ratings = self._blocked(ratings, rng, p.block_size)
            else:
                ratings = self._shuffled(ratings, rng)
        with arguments as args, threads:
            return epoch(
                users=ratings.users,
                items=ratings.items,
                values=ratings.values,
                mu=np.float32(self.global_mean_),
                biased=p.biased,
                **args,
            )
