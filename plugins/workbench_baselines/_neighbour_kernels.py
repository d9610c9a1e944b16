"""Numba kernels of the rating neighbours (`workbench_baselines.neighbours`): no users x items
matrix, one scratch array of ``n_items`` (or the candidates) per user and thread.

Every output value is computed by one thread in a fixed order (IEEE arithmetic, no
``fastmath``), so results do not depend on the number of threads or on the numba cache.

Similarity rows are CSR rows sorted by similarity, descending (ties: lower index first), and
hold positive similarities only: the first ``k`` neighbours met are the ``k`` nearest.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from workbench.factor.kernels import sorted_position


@njit(cache=True, nogil=True)
def _item_adjustment(pos, z_data, s_indptr, s_indices, s_data, item, k, min_k):
    """``sum s (r - b) / sum s`` over the ``k`` most similar items the user rated (``pos``:
    item -> position of the user's residual in ``z_data``, or -1); 0 below ``min_k``."""
    num = 0.0
    den = 0.0
    count = 0
    for q in range(s_indptr[item], s_indptr[item + 1]):
        p = pos[s_indices[q]]
        if p >= 0:
            s = np.float64(s_data[q])
            num += s * z_data[p]
            den += s
            count += 1
            if count == k:
                break
    if count == 0 or count < min_k:
        return 0.0
    return num / den


@njit(parallel=True, cache=True)
def item_knn_block(
    rows, z_indptr, z_indices, z_data, cand, s_indptr, s_indices, s_data, n_items, k, min_k
):  # pragma: no cover - compiled
    """Item-based adjustments of users (``rows`` of the residual CSR ``z``, -1: none) for
    every candidate item: (len(rows), len(cand)) float64."""
    n = len(rows)
    out = np.zeros((n, len(cand)), dtype=np.float64)
    for u in prange(n):
        row = rows[u]
        if row < 0:
            continue
        pos = np.full(n_items, -1, dtype=np.int64)
        for p in range(z_indptr[row], z_indptr[row + 1]):
            pos[z_indices[p]] = p
        for c in range(len(cand)):
            out[u, c] = _item_adjustment(
                pos, z_data, s_indptr, s_indices, s_data, cand[c], k, min_k
            )
    return out


@njit(cache=True)
def item_knn_pairs(
    rows, z_indptr, z_indices, z_data, items, s_indptr, s_indices, s_data, n_items, k, min_k
):  # pragma: no cover - compiled
    """Item-based adjustment of pair r: state row ``rows[r]`` with item ``items[r]`` (-1 in
    either: 0)."""
    out = np.zeros(len(rows), dtype=np.float64)
    pos = np.full(n_items, -1, dtype=np.int64)
    for r in range(len(rows)):
        row, item = rows[r], items[r]
        if row < 0 or item < 0:
            continue
        for p in range(z_indptr[row], z_indptr[row + 1]):
            pos[z_indices[p]] = p
        out[r] = _item_adjustment(pos, z_data, s_indptr, s_indices, s_data, item, k, min_k)
        for p in range(z_indptr[row], z_indptr[row + 1]):
            pos[z_indices[p]] = -1
    return out


@njit(parallel=True, cache=True)
def user_knn_block(
    rows, s_indptr, s_indices, s_data, z_indptr, z_indices, z_data, col_of, n_cand, k, min_k
):  # pragma: no cover - compiled
    """User-based adjustments: for state row u (``rows[u]``: its row of the user-similarity
    CSR ``s``, -1: none) and each candidate (``col_of``: item -> column, or -1), ``sum s (r -
    b) / sum s`` over the ``k`` most similar training users who rated it (``z``: training
    users' residuals). Walks the neighbours best first, so each column keeps its first k."""
    n = len(rows)
    out = np.zeros((n, n_cand), dtype=np.float64)
    for u in prange(n):
        row = rows[u]
        if row < 0:
            continue
        num = np.zeros(n_cand, dtype=np.float64)
        den = np.zeros(n_cand, dtype=np.float64)
        cnt = np.zeros(n_cand, dtype=np.int64)
        for q in range(s_indptr[row], s_indptr[row + 1]):
            v = s_indices[q]
            s = np.float64(s_data[q])
            for p in range(z_indptr[v], z_indptr[v + 1]):
                c = col_of[z_indices[p]]
                if c >= 0 and cnt[c] < k:
                    num[c] += s * z_data[p]
                    den[c] += s
                    cnt[c] += 1
        for c in range(n_cand):
            if cnt[c] > 0 and cnt[c] >= min_k:
                out[u, c] = num[c] / den[c]
    return out


@njit(parallel=True, cache=True)
def user_knn_pairs(
    rows, items, s_indptr, s_indices, s_data, zt_indptr, zt_indices, zt_data, k, min_k
):  # pragma: no cover - compiled
    """User-based adjustment of pair r (``zt``: the residuals by item, users sorted)."""
    out = np.zeros(len(rows), dtype=np.float64)
    for r in prange(len(rows)):
        row, item = rows[r], items[r]
        if row < 0 or item < 0:
            continue
        lo, hi = zt_indptr[item], zt_indptr[item + 1]
        num = 0.0
        den = 0.0
        count = 0
        for q in range(s_indptr[row], s_indptr[row + 1]):
            p = sorted_position(zt_indices, lo, hi, s_indices[q])
            if p >= 0:
                s = np.float64(s_data[q])
                num += s * zt_data[p]
                den += s
                count += 1
                if count == k:
                    break
        if count > 0 and count >= min_k:
            out[r] = num / den
    return out


@njit(parallel=True, cache=True)
def slope_one_block(
    rows,
    r_indptr,
    r_indices,
    r_data,
    cand,
    d_indptr,
    d_indices,
    d_data,
    f_data,
    n_items,
    weighted,
):  # pragma: no cover - compiled
    """Slope One deviations of users (``rows`` of the rating CSR ``r``) for the candidates:
    (sum, weight) per entry, (len(rows), len(cand)) each. ``d[j, i]`` is the mean of ``r_j -
    r_i`` over the ``f[j, i]`` users who rated both. Plain: sum of ``dev_ij = -d[j, i]`` over
    the rated ``j`` with ``f > 0``, weight = their number; weighted (Lemire and Maclachlan's
    weighted Slope One): sum of ``(dev_ij + r_j) f_ij``, weight = sum of ``f_ij``."""
    n = len(rows)
    sums = np.zeros((n, len(cand)), dtype=np.float64)
    weights = np.zeros((n, len(cand)), dtype=np.float64)
    for u in prange(n):
        row = rows[u]
        if row < 0:
            continue
        acc = np.zeros(n_items, dtype=np.float64)
        wt = np.zeros(n_items, dtype=np.float64)
        for p in range(r_indptr[row], r_indptr[row + 1]):
            j = r_indices[p]
            rj = np.float64(r_data[p])
            for q in range(d_indptr[j], d_indptr[j + 1]):
                i = d_indices[q]
                dev = -np.float64(d_data[q])
                if weighted:
                    f = np.float64(f_data[q])
                    acc[i] += (dev + rj) * f
                    wt[i] += f
                else:
                    acc[i] += dev
                    wt[i] += 1.0
        for c in range(len(cand)):
            sums[u, c] = acc[cand[c]]
            weights[u, c] = wt[cand[c]]
    return sums, weights


@njit(parallel=True, cache=True)
def slope_one_pairs(
    rows, items, r_indptr, r_indices, r_data, d_indptr, d_indices, d_data, f_data, weighted
):  # pragma: no cover - compiled
    """`slope_one_block` for pairs: (sum, weight) of pair r."""
    sums = np.zeros(len(rows), dtype=np.float64)
    weights = np.zeros(len(rows), dtype=np.float64)
    for r in prange(len(rows)):
        row, i = rows[r], items[r]
        if row < 0 or i < 0:
            continue
        acc = 0.0
        wt = 0.0
        for p in range(r_indptr[row], r_indptr[row + 1]):
            j = r_indices[p]
            q = sorted_position(d_indices, d_indptr[j], d_indptr[j + 1], i)
            if q >= 0:
                dev = -np.float64(d_data[q])
                if weighted:
                    f = np.float64(f_data[q])
                    acc += (dev + np.float64(r_data[p])) * f
                    wt += f
                else:
                    acc += dev
                    wt += 1.0
        sums[r] = acc
        weights[r] = wt
    return sums, weights
