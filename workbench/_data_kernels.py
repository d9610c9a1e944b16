"""Compiled helpers of `workbench.data` for large inputs (numba, imported lazily)."""

from __future__ import annotations

import numpy as np
from numba import njit

#: Item codes below this fit the 2-byte buckets of `has_duplicate_pair`.
SMALL_ITEMS = 1 << 16


@njit(cache=True)
def bucket_starts(user: np.ndarray, n_users: int) -> np.ndarray:
    """Where each user's rows start once bucketed by user, in a counting sort (length
    ``n_users + 1``; the last is the number of rows)."""
    start = np.zeros(n_users + 1, dtype=np.int64)
    for t in range(user.shape[0]):
        start[user[t] + 1] += 1
    for u in range(n_users):
        start[u + 1] += start[u]
    return start


@njit(cache=True)
def _range_repeats(
    user: np.ndarray, item: np.ndarray, start: np.ndarray, lo: int, hi: int,
    bucket: np.ndarray, n_items: int,
) -> bool:  # fmt: skip
    """Whether a user in ``[lo, hi)`` rates an item twice: their items are bucketed by user
    into ``bucket`` (one pass over the rows), then an item already carrying the user's
    stamp repeats."""
    base = start[lo]
    cursor = start[lo:hi] - base
    for t in range(user.shape[0]):
        u = user[t]
        if lo <= u < hi:
            bucket[cursor[u - lo]] = item[t]
            cursor[u - lo] += 1
    stamp = np.full(n_items, -1, dtype=np.int32)
    for u in range(lo, hi):
        for k in range(start[u] - base, start[u + 1] - base):
            i = bucket[k]
            if stamp[i] == u:
                return True
            stamp[i] = u
    return False


@njit(cache=True)
def has_duplicate_pair(
    user: np.ndarray, item: np.ndarray, n_users: int, n_items: int, n_parts: int = 1
) -> bool:
    """Whether any (user, item) pair occurs twice, in O(rows + users + items) time.

    A range of users' items is bucketed by user (a counting sort: 2 bytes a row when the
    item codes fit 16 bits, else 4), and within a user's bucket an item seen before carries
    that user's stamp. No argsort, no 64-bit keys. ``n_parts`` > 1 cuts the users into
    that many ranges of about equal rows, checked one after another (one pass over the rows
    each, a bucket of a part's rows at a time).
    """
    start = bucket_starts(user, n_users)
    n = user.shape[0]
    n_parts = max(1, min(n_parts, n_users))
    lo = 0
    for p in range(1, n_parts + 1):  # up to the first user whose rows start past p/n_parts
        target = (n * p) // n_parts
        hi = lo
        while hi < n_users and (start[hi] < target or p == n_parts):
            hi += 1
        if hi > lo:
            rows = start[hi] - start[lo]
            if n_items <= SMALL_ITEMS:
                bucket16 = np.empty(rows, dtype=np.uint16)
                if _range_repeats(user, item, start, lo, hi, bucket16, n_items):
                    return True
            else:
                bucket32 = np.empty(rows, dtype=np.int32)
                if _range_repeats(user, item, start, lo, hi, bucket32, n_items):
                    return True
        lo = hi
    return False
