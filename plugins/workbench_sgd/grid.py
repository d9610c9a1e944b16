"""Both cores for SGD, reproducibly: LIBMF's block scheduling with a fixed schedule.

Users and items are dealt into groups of about equal rating counts (`balanced_groups`), the
user-sorted ratings grouped once per fit into the cells of the user group x item group grid
(`grid_ratings`), and each epoch runs round by round the cells that share no user group and
no item group on parallel threads (`_kernels.mf_epoch_grid`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench_sgd.base import Ratings

if TYPE_CHECKING:
    from workbench_sgd.base import SGDModel


@dataclass(frozen=True)
class GridRatings(Ratings):
    """Ratings grouped into the cells of the grid (``starts``: where each cell begins), with
    the buffers each epoch shuffles them into.

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
        """The grid arguments of one epoch's kernel call (its random order from ``seed``)."""
        if not self.work:
            self.work.extend(np.empty_like(a) for a in (self.users, self.items, self.values))
        users, items, values = self.work
        return {
            "starts": self.starts, "n_groups": self.n_groups, "block_size": block_size,
            "seed": seed, "work_users": users, "work_items": items, "work_values": values,
        }  # fmt: skip

    @contextmanager
    def packed(self, update: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """``update`` (the kernel's ``bu``, ``bi``, ``p``, ``q`` and the rest) with the
        parameter rows of these ratings' users and items copied into the grid's numbering;
        the copies are written back on exit (the item ones only with ``update_items``)."""
        rows = {"bu": self.user_ids, "p": self.user_ids, "bi": self.item_ids, "q": self.item_ids}
        packed = {key: np.take(update[key], ids, axis=0) for key, ids in rows.items()}
        yield {**update, **packed}
        written = ("bu", "p", "bi", "q") if update["update_items"] else ("bu", "p")
        for key in written:
            update[key][rows[key]] = packed[key]


def grid_ratings(model: SGDModel, ratings: Ratings, n_threads: int, seed: int) -> GridRatings:
    """User-sorted ``ratings`` regrouped once for the grid kernels: users and items dealt
    into ``max(8, 2 n_threads)`` groups holding about equal numbers of ratings
    (`balanced_groups`, ties broken by a permutation fixed by ``seed``), the ratings of
    each (user group, item group) cell together, by user; users and items renumbered group
    by group (`GridRatings`). 2 to 4 threads share one 8 x 8 grid, so one result."""
    n_groups = max(8, 2 * n_threads)
    rng = np.random.default_rng([seed, 0x67726964])
    groups = [balanced_groups(a, n_groups, rng) for a in (ratings.users, ratings.items)]
    order, starts = model._kernels().grid_order(
        ratings.users, ratings.items, groups[0], groups[1], n_groups
    )
    r = model._reordered(ratings, order)
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
