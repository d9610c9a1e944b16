"""Numba kernels of the item-kNN model: user-dependent top-k neighbours, no dense matrices.

The similarity matrix is CSR (row ``i`` = the neighbours of item ``i``, sorted by similarity,
descending). To score item ``i`` for a user we walk row ``i`` and keep the first ``k``
neighbours the user has rated, found through ``pos`` (item -> position in the user's row,
or -1): one ``n_items`` scratch array per thread, never a users x items matrix.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Pairs handled by one parallel task in `score_pairs` (each task owns one scratch array).
PAIR_CHUNK = 2048


@njit(cache=True, nogil=True)
def _adjustment(pos, r_data, s_indptr, s_indices, s_data, item, k, min_k, normalise):
    """Weighted sum over the user's ``k`` most similar rated items (0 below ``min_k``)."""
    num = 0.0
    den = 0.0
    count = 0
    for q in range(s_indptr[item], s_indptr[item + 1]):
        p = pos[s_indices[q]]
        if p >= 0:
            s = s_data[q]
            num += s * r_data[p]
            den += s
            count += 1
            if count == k:
                break
    if count == 0 or count < min_k:
        return 0.0
    if normalise:
        return num / den
    return num


@njit(parallel=True, cache=True)
def score_block(
    rows,
    r_indptr,
    r_indices,
    r_data,
    cand,
    s_indptr,
    s_indices,
    s_data,
    n_items,
    k,
    min_k,
    normalise,
):
    """Adjustments of users (``rows`` of the residual CSR, -1: no history) against every
    candidate item: shape (len(rows), len(cand))."""
    n = len(rows)
    out = np.zeros((n, len(cand)), dtype=np.float64)
    for u in prange(n):
        pos = np.full(n_items, -1, dtype=np.int64)
        row = rows[u]
        if row >= 0:
            for p in range(r_indptr[row], r_indptr[row + 1]):
                pos[r_indices[p]] = p
        for c in range(len(cand)):
            out[u, c] = _adjustment(
                pos, r_data, s_indptr, s_indices, s_data, cand[c], k, min_k, normalise
            )
    return out


@njit(parallel=True, cache=True)
def score_pairs(
    rows,
    r_indptr,
    r_indices,
    r_data,
    items,
    s_indptr,
    s_indices,
    s_data,
    n_items,
    k,
    min_k,
    normalise,
):
    """Adjustment of user ``rows[r]`` (a residual CSR row, -1: none) for ``items[r]``
    (0 for item -1)."""
    n = len(items)
    out = np.zeros(n, dtype=np.float64)
    n_chunks = (n + PAIR_CHUNK - 1) // PAIR_CHUNK
    for chunk in prange(n_chunks):
        pos = np.full(n_items, -1, dtype=np.int64)
        for r in range(chunk * PAIR_CHUNK, min(n, (chunk + 1) * PAIR_CHUNK)):
            lo, hi = 0, 0
            if rows[r] >= 0:
                lo, hi = r_indptr[rows[r]], r_indptr[rows[r] + 1]
            for p in range(lo, hi):
                pos[r_indices[p]] = p
            if items[r] >= 0:
                out[r] = _adjustment(
                    pos, r_data, s_indptr, s_indices, s_data, items[r], k, min_k, normalise
                )
            for p in range(lo, hi):
                pos[r_indices[p]] = -1
    return out
