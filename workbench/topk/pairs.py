"""How many (user, item) pairs of one set occur in another, in one linear pass (numba).

The evaluation's leak check compares a split's test pairs with its (much larger) training
pairs. Sorting the training keys costs seconds at 100M ratings; here only the smaller side is
sorted, and each pair of the larger side is looked up by binary search within its user's few
sorted keys (a cache-resident row), so the larger side is read once, in its own order.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _mark(a_user, a_item, indptr, b_item, hit):  # noqa: ANN001, ANN202
    """hit[p] = 1 for each sorted entry ``p`` of ``b`` whose pair occurs in ``a``."""
    n_rows = indptr.shape[0] - 1
    for t in range(a_user.shape[0]):
        u = a_user[t]
        if u < 0 or u >= n_rows:
            continue
        lo, hi = indptr[u], indptr[u + 1]
        if lo == hi:
            continue
        i = a_item[t]
        while lo < hi:  # first entry >= i
            mid = (lo + hi) >> 1
            if b_item[mid] < i:
                lo = mid + 1
            else:
                hi = mid
        end = indptr[u + 1]
        while lo < end and b_item[lo] == i:  # duplicates of b each count
            hit[lo] = 1
            lo += 1


def count_shared_pairs(
    a_user: np.ndarray, a_item: np.ndarray, b_user: np.ndarray, b_item: np.ndarray
) -> int:
    """How many entries ``(b_user[j], b_item[j])`` also occur among the pairs of ``a``."""
    if len(a_user) == 0 or len(b_user) == 0:
        return 0
    width = int(np.max(b_item)) + 1
    keys = np.sort(np.asarray(b_user, dtype=np.int64) * width + b_item)
    bu, bi = keys // width, keys % width
    n_rows = int(bu[-1]) + 1
    indptr = np.searchsorted(bu, np.arange(n_rows + 1)).astype(np.int64)
    hit = np.zeros(len(bu), dtype=np.uint8)
    _mark(np.asarray(a_user), np.asarray(a_item), indptr, bi, hit)
    return int(hit.sum())
