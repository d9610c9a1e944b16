"""Compiled helpers of `workbench.data` for large inputs (numba, imported lazily)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def has_duplicate_pair(
    user: np.ndarray, item: np.ndarray, n_users: int, n_items: int, max_rows: int = 0
) -> bool:
    """Whether any (user, item) pair occurs twice, in O(rows + users + items) time.

    The rows are bucketed by user (a counting sort of 4-byte row numbers); within a user's
    bucket an item seen before carries that user's stamp. Memory: one int32 per row plus one
    int64 per user and item, instead of the int64 keys, permutation and sorted copy of an
    argsort. ``max_rows`` > 0 bounds the row numbers held at once: the users are taken in
    ranges of at most that many rows (or one user's), one pass over ``user`` per range.
    """
    n = user.shape[0]
    start = np.zeros(n_users + 1, dtype=np.int64)
    for t in range(n):
        start[user[t] + 1] += 1
    largest = 0
    for u in range(n_users):
        largest = max(largest, start[u + 1])
        start[u + 1] += start[u]
    if max_rows <= 0 or max_rows > n:
        max_rows = n
    rows = np.empty(max(max_rows, largest), dtype=np.int32)
    cursor = np.empty(n_users, dtype=np.int64)
    stamp = np.full(n_items, -1, dtype=np.int64)
    lo = 0
    while lo < n_users:
        hi = lo + 1
        while hi < n_users and start[hi + 1] - start[lo] <= max_rows:
            hi += 1
        base = start[lo]
        for u in range(lo, hi):
            cursor[u] = start[u] - base
        for t in range(n):
            u = user[t]
            if lo <= u < hi:
                rows[cursor[u]] = t
                cursor[u] += 1
        for u in range(lo, hi):
            for k in range(start[u] - base, start[u + 1] - base):
                i = item[rows[k]]
                if stamp[i] == u:
                    return True
                stamp[i] = u
        lo = hi
    return False
