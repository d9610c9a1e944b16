"""Compiled helpers of `workbench.data` for large inputs (numba, imported lazily)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def has_duplicate_pair(user: np.ndarray, item: np.ndarray, n_users: int, n_items: int) -> bool:
    """Whether any (user, item) pair occurs twice, in O(rows + users + items) time.

    The rows are bucketed by user (a counting sort of 4-byte row numbers); within a user's
    bucket an item seen before carries that user's stamp. Memory: one int32 per row plus one
    int64 per user and item, instead of the int64 keys, permutation and sorted copy of an
    argsort.
    """
    n = user.shape[0]
    start = np.zeros(n_users + 1, dtype=np.int64)
    for t in range(n):
        start[user[t] + 1] += 1
    for u in range(n_users):
        start[u + 1] += start[u]
    cursor = start[:-1].copy()
    rows = np.empty(n, dtype=np.int32)
    for t in range(n):
        u = user[t]
        rows[cursor[u]] = t
        cursor[u] += 1
    stamp = np.full(n_items, -1, dtype=np.int64)
    for u in range(n_users):
        for k in range(start[u], start[u + 1]):
            i = item[rows[k]]
            if stamp[i] == u:
                return True
            stamp[i] = u
    return False
