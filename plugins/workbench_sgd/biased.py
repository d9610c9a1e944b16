"""Biased matrix factorisation trained by SGD (Funk SVD; Koren, Bell and Volinsky 2009)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class GridRatings(Ratings):
    """Ratings grouped into the cells of `mf_epoch_grid` (``starts``: where each cell
    begins), with the buffers each epoch shuffles them into.

    ``users`` and ``items`` are numbered group by group: number ``j`` is the original index
    ``user_ids[j]`` (``item_ids[j]``), and each epoch runs on copies of the parameter rows in
    that order (`packed`). The rows (and biases) that two threads update at the same time
    are then never neighbours in memory; in the original order the groups interleave, rows
    of different groups share cache lines, and the threads kept invalidating each other's
    caches (10M ratings, 2 threads: 0.30-0.62 s per epoch against 0.22-0.26 s packed). The
    arithmetic and its order are unchanged: the results are the same bit for bit."""

    starts: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    n_groups: int = 1
    user_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    item_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    work: list[np.ndarray] = field(default_factory=list, compare=False)

    def epoch_args(self, block_size: int, seed: int) -> dict[str, Any]:
        """The grid arguments of one `mf_epoch_grid` call (its random order from ``seed``)."""
        if not self.work:
            self.work.extend(np.empty_like(a) for a in (self.users, self.items, self.values))
        users, items, values = self.work[:3]
        return {
            "starts": self.starts, "n_groups": self.n_groups, "block_size": block_size,
            "seed": seed, "work_users": users, "work_items": items, "work_values": values,
        }  # fmt: skip

    @contextmanager
    def packed(self, update: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """``update`` (the kernels' ``bu``, ``bi``, ``p``, ``q`` and the rest) with the
        parameter rows of these ratings' users and items copied into the grid's numbering;
        the copies are written back on exit (the item ones only with ``update_items``)."""
        rows = {"bu": self.user_ids, "p": self.user_ids, "bi": self.item_ids, "q": self.item_ids}
        packed = {key: np.take(update[key], ids, axis=0) for key, ids in rows.items()}
        yield {**update, **packed}
        written = ("bu", "p", "bi", "q") if update["update_items"] else ("bu", "p")
        for key in written:
            update[key][rows[key]] = packed[key]


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
            return self._grid(by_user, self.params.n_threads, self.params.seed)
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
        epoch, extra = kernels.mf_epoch, {}
        update = self._update_args(users, lr)
        if isinstance(ratings, GridRatings):
            extra = ratings.epoch_args(p.block_size, int(rng.integers(2**63 - 1)))
            with ratings.packed(update) as packed, _numba_threads(p.n_threads):
                return kernels.mf_epoch_grid(
                    **extra,
                    users=ratings.users,
                    items=ratings.items,
                    values=ratings.values,
                    mu=np.float32(self.global_mean_),
                    biased=p.biased,
                    **packed,
                )
        if self._is_blocked():
            shuffled = self._blocked(ratings, rng, p.block_size)
        else:
            shuffled = self._shuffled(ratings, rng)
        with _numba_threads(p.n_threads):
            return epoch(
                **extra,
                users=shuffled.users,
                items=shuffled.items,
                values=shuffled.values,
                mu=np.float32(self.global_mean_),
                biased=p.biased,
                **update,
            )

    def _grid(self, ratings: Ratings, n_threads: int, seed: int) -> GridRatings:
        """User-sorted ``ratings`` regrouped once for `mf_epoch_grid`: users and items dealt
        into ``max(8, 2 n_threads)`` groups holding about equal numbers of ratings
        (`balanced_groups`, ties broken by a permutation fixed by ``seed``), the ratings of
        each (user group, item group) cell together, by user; users and items renumbered
        group by group (`GridRatings`)."""
        n_groups = max(8, 2 * n_threads)
        rng = np.random.default_rng([seed, 0x67726964])
        groups = [balanced_groups(a, n_groups, rng) for a in (ratings.users, ratings.items)]
        order, starts = self._kernels().grid_order(
            ratings.users, ratings.items, groups[0], groups[1], n_groups
        )
        r = self._reordered(ratings, order)
        users, user_ids = _group_numbering(r.users, groups[0])
        items, item_ids = _group_numbering(r.items, groups[1])
        return GridRatings(
            users, items, r.values, starts=starts, n_groups=n_groups, user_ids=user_ids,
            item_ids=item_ids,
        )  # fmt: skip


def balanced_groups(index: np.ndarray, n_groups: int, rng: np.random.Generator) -> np.ndarray:
    """A group (0..n_groups-1) for every value of ``index`` (users or items), dealt so the
    groups hold about as many ratings each: values by rating count, most first (ties in a
    random order from ``rng``), each to the group with the fewest ratings so far (the
    first such). Equal cells keep the threads of a grid round equally busy (dealt at
    random, a Zipf catalogue gave cells of 129k to 211k ratings, 156k on average, at 10M)."""
    from workbench_sgd import _kernels

    counts = np.bincount(index, minlength=int(index.max()) + 1 if len(index) else 0)
    by_count = np.lexsort((rng.permutation(len(counts)), -counts))
    return _kernels.least_loaded_groups(by_count, counts.astype(np.int64), n_groups)


def _group_numbering(index: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``index`` renumbered so that each group's values (those ``index`` holds) are
    consecutive, groups in order, values in order within a group; and the original value of
    each new number."""
    present = np.flatnonzero(np.bincount(index, minlength=len(group)))
    ids = present[np.argsort(group[present], kind="stable")]
    number = np.zeros(len(group), dtype=index.dtype)
    number[ids] = np.arange(len(ids), dtype=index.dtype)
    return number[index], ids


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
