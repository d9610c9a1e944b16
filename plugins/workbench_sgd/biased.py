"""Biased matrix factorisation trained by SGD (Funk SVD; Koren, Bell and Volinsky 2009)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
from pydantic import Field

from workbench_sgd.base import Ratings, SGDModel, SGDParams, UserParams


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
        return self._by_user(ratings) if self._is_blocked() else ratings

    def _epoch(
        self,
        context: Any,
        ratings: Ratings,
        rng: np.random.Generator,
        lr: float,
        users: UserParams,
    ) -> float:
        p = self.params
        if self._is_blocked():
            shuffled = self._blocked(ratings, rng, p.block_size)
        else:
            shuffled = self._shuffled(ratings, rng)
        kernels = self._kernels()
        epoch, extra = kernels.mf_epoch, {}
        if p.n_threads > 1:
            shuffled, extra = self._grid(shuffled, p.n_threads, p.seed)
            epoch = kernels.mf_epoch_grid
        with _numba_threads(p.n_threads):
            return epoch(
                **extra,
                users=shuffled.users,
                items=shuffled.items,
                values=shuffled.values,
                mu=np.float32(self.global_mean_),
                biased=p.biased,
                **self._update_args(users, lr),
            )

    def _grid(self, ratings: Ratings, n_threads: int, seed: int) -> tuple[Ratings, dict]:
        """``ratings`` regrouped for `mf_epoch_grid`: users and items dealt into
        ``max(8, 2 n_threads)`` groups of equal size by a permutation fixed by ``seed``."""
        n_groups = max(8, 2 * n_threads)
        rng = np.random.default_rng([seed, 0x67726964])
        groups = [
            (rng.permutation(int(a.max()) + 1 if len(a) else 0) % n_groups).astype(np.int64)
            for a in (ratings.users, ratings.items)
        ]
        order, starts = self._kernels().grid_order(
            ratings.users, ratings.items, groups[0], groups[1], n_groups
        )
        return self._reordered(ratings, order), {"starts": starts, "n_groups": n_groups}


@contextmanager
def _numba_threads(n_threads: int) -> Iterator[None]:
    """Run numba's parallel loops on ``n_threads`` threads (at most numba's pool) meanwhile."""
    if n_threads <= 1:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)
