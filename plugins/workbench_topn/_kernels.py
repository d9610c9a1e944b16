"""Compiled loops of BPR (numba), single-threaded and bit-identical from a seed.

Random numbers come from splitmix64 on a uint64 state passed in and out, so a run is a
function of its seed alone (never of the numba cache or of thread scheduling). Every
reduction (the dot products) sums into 16 lanes in a fixed order, reduced pairwise, then the
tail in order, without ``fastmath``: the compiler may vectorise the lanes but not reorder a
sum, so the result is the same on every run.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from workbench.factor.kernels import LANES, sorted_position
from workbench.factor.kernels import reduce_lanes as _reduce

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, inline="always")
def _next(state: np.ndarray) -> np.uint64:  # pragma: no cover - compiled
    """splitmix64: advance ``state[0]`` and return the next 64 random bits."""
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _below(state: np.ndarray, n: int) -> int:  # pragma: no cover - compiled
    """A uniform integer in [0, n) (the top 32 bits times n: bias below 2^-32 n)."""
    return np.int64(((_next(state) >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@njit(cache=True, inline="always")
def diff_dot(P, u, Q, i, j, acc) -> np.float32:  # pragma: no cover - compiled
    """``P[u] . (Q[i] - Q[j])`` in the fixed lane order."""
    n = P.shape[1]
    for lane in range(LANES):
        acc[lane] = np.float32(0.0)
    k = 0
    while k + LANES <= n:
        for lane in range(LANES):
            acc[lane] += P[u, k + lane] * (Q[i, k + lane] - Q[j, k + lane])
        k += LANES
    s = _reduce(acc)
    while k < n:
        s += P[u, k] * (Q[i, k] - Q[j, k])
        k += 1
    return s


@njit(cache=True, inline="always")
def _negative(state, indptr, indices, u, n_items) -> int:  # pragma: no cover - compiled
    """An item the user has not interacted with, uniform over those (rejection sampling);
    -1 when the user has interacted with every item."""
    lo, hi = indptr[u], indptr[u + 1]
    if hi - lo >= n_items:
        return np.int64(-1)
    while True:
        j = _below(state, n_items)
        if sorted_position(indices, lo, hi, j) < 0:
            return j


@njit(cache=True, inline="always")
def softplus_neg(x) -> float:  # pragma: no cover - compiled
    """``-log sigmoid(x) = log(1 + exp(-x))``, without overflow."""
    if x > 0:
        return np.log1p(np.exp(-x))
    return -x + np.log1p(np.exp(x))


@njit(cache=True, inline="always")
def bpr_step(P, u, Q, i, j, bias, lr, reg, reg_bias, update_items, acc):  # pragma: no cover
    """One BPR step on user row ``P[u]``, positive ``i`` and negative ``j``; returns
    ``x_uij = b_i - b_j + P[u] . (Q[i] - Q[j])`` before the update (rows indexed in place:
    no views, so the compiler keeps the loop tight)."""
    x = bias[i] - bias[j] + diff_dot(P, u, Q, i, j, acc)
    z = np.float32(1.0) / (np.float32(1.0) + np.exp(x))  # sigmoid(-x): the gradient weight
    if update_items:
        for k in range(P.shape[1]):
            pk = P[u, k]
            qik = Q[i, k]
            qjk = Q[j, k]
            P[u, k] = pk + lr * (z * (qik - qjk) - reg * pk)
            Q[i, k] = qik + lr * (z * pk - reg * qik)
            Q[j, k] = qjk + lr * (-z * pk - reg * qjk)
        bias[i] += lr * (z - reg_bias * bias[i])
        bias[j] += lr * (-z - reg_bias * bias[j])
    else:
        for k in range(P.shape[1]):
            pk = P[u, k]
            P[u, k] = pk + lr * (z * (Q[i, k] - Q[j, k]) - reg * pk)
    return x


#: The epoch loss is the mean of ``-log sigmoid(x_uij)`` over every LOSS_EVERY-th step (an
#: unbiased estimate that spares a log and an exp on the other steps).
LOSS_EVERY = 16


@njit(cache=True)
def bpr_epoch(
    users, indptr, indices, P, Q, bias, lr, reg, reg_bias, n_samples, state
):  # pragma: no cover - compiled
    """``n_samples`` steps of Rendle's LearnBPR: (u, i) uniform over the training pairs, j
    uniform over the items u has not interacted with. Returns (summed loss over every
    `LOSS_EVERY`-th step, the number of those steps)."""
    acc = np.zeros(LANES, dtype=np.float32)
    nnz = indices.shape[0]
    n_items = Q.shape[0]
    total = 0.0
    counted = 0
    for step in range(n_samples):
        s = _below(state, nnz)
        u = users[s]
        i = indices[s]
        j = _negative(state, indptr, indices, u, n_items)
        if j < 0:
            continue
        x = bpr_step(P, u, Q, i, j, bias, lr, reg, reg_bias, True, acc)
        if step % LOSS_EVERY == 0:
            total += softplus_neg(x)
            counted += 1
    return total, counted


@njit(cache=True)
def bpr_fold_in(
    indptr, indices, P, Q, bias, lr, reg, n_epochs, state
):  # pragma: no cover - compiled
    """Fold-in: user vectors ``P`` (from zero) by BPR steps with items frozen, each epoch
    as many samples as the user's history, (i, j) drawn as in `bpr_epoch`."""
    acc = np.zeros(LANES, dtype=np.float32)
    n_items = Q.shape[0]
    for u in range(P.shape[0]):
        lo, hi = indptr[u], indptr[u + 1]
        if hi == lo:
            continue
        for _ in range(n_epochs):
            for _s in range(hi - lo):
                i = indices[lo + _below(state, hi - lo)]
                j = _negative(state, indptr, indices, u, n_items)
                if j < 0:
                    break
                bpr_step(P, u, Q, i, j, bias, lr, reg, np.float32(0.0), False, acc)


# -- nearest neighbours ---------------------------------------------------------------------
@njit(cache=True, inline="always")
def _worse(va, ca, vb, cb) -> bool:  # pragma: no cover - compiled
    """Whether (value a, column a) ranks below (value b, column b): smaller value, or the
    same value and a larger column."""
    return va < vb or (va == vb and ca > cb)


@njit(cache=True, inline="always")
def _sift_down(hv, hc, size, pos) -> None:  # pragma: no cover - compiled
    """Restore the heap (the worst entry at the root) below ``pos``."""
    while True:
        left = 2 * pos + 1
        if left >= size:
            return
        child = left
        right = left + 1
        if right < size and _worse(hv[right], hc[right], hv[left], hc[left]):
            child = right
        if _worse(hv[child], hc[child], hv[pos], hc[pos]):
            hv[pos], hv[child] = hv[child], hv[pos]
            hc[pos], hc[child] = hc[child], hc[pos]
            pos = child
        else:
            return


@njit(cache=True, inline="always")
def _sift_up(hv, hc, pos) -> None:  # pragma: no cover - compiled
    while pos > 0:
        parent = (pos - 1) // 2
        if _worse(hv[pos], hc[pos], hv[parent], hc[parent]):
            hv[pos], hv[parent] = hv[parent], hv[pos]
            hc[pos], hc[parent] = hc[parent], hc[pos]
            pos = parent
        else:
            return


@njit(cache=True, parallel=True)
def knn_rows(
    q_indptr,
    q_indices,
    q_data,
    q_norms,
    t_indptr,
    t_indices,
    t_data,
    d_norms,
    normalised,
    shrinkage,
    k,
    exclude,
    n_docs,
    n_chunks,
):  # pragma: no cover - compiled
    """For each query row r: the ``k`` documents with the largest similarity
    ``sum_t q_rt d_td`` (divided by ``|q_r| |d| + shrinkage`` when ``normalised``), non-zero
    ones only, ``exclude[r]`` left out; ties by lower document index. ``t_*`` is the terms x
    documents CSR. Returns (counts, columns, values) with ``k`` slots per row, best first.

    Each row is independent and sums its products in term order, so the result does not
    depend on the number of threads."""
    n = q_indptr.shape[0] - 1
    counts = np.zeros(n, dtype=np.int64)
    cols = np.full((n, k), -1, dtype=np.int64)
    vals = np.zeros((n, k), dtype=np.float64)
    n_chunks = max(1, min(n, n_chunks))
    for chunk in prange(n_chunks):
        acc = np.zeros(n_docs, dtype=np.float64)
        mark = np.zeros(n_docs, dtype=np.bool_)
        touched = np.empty(n_docs, dtype=np.int64)
        hv = np.empty(k, dtype=np.float64)
        hc = np.empty(k, dtype=np.int64)
        lo_row = chunk * n // n_chunks
        hi_row = (chunk + 1) * n // n_chunks
        for r in range(lo_row, hi_row):
            # many products: scan every document afterwards (no bookkeeping per product);
            # few: remember the documents touched
            bound = 0
            for a in range(q_indptr[r], q_indptr[r + 1]):
                t = q_indices[a]
                bound += t_indptr[t + 1] - t_indptr[t]
            dense = 4 * bound >= n_docs
            n_touched = 0
            if dense:
                for a in range(q_indptr[r], q_indptr[r + 1]):
                    t = q_indices[a]
                    w = q_data[a]
                    for b in range(t_indptr[t], t_indptr[t + 1]):
                        acc[t_indices[b]] += w * t_data[b]
                n_touched = n_docs
            else:
                for a in range(q_indptr[r], q_indptr[r + 1]):
                    t = q_indices[a]
                    w = q_data[a]
                    for b in range(t_indptr[t], t_indptr[t + 1]):
                        d = t_indices[b]
                        if not mark[d]:
                            mark[d] = True
                            touched[n_touched] = d
                            n_touched += 1
                        acc[d] += w * t_data[b]
            size = 0
            for m in range(n_touched):
                d = m if dense else touched[m]
                v = acc[d]
                acc[d] = 0.0
                mark[d] = False
                if d == exclude[r]:
                    continue
                if normalised:
                    denom = q_norms[r] * d_norms[d] + shrinkage
                    v = v / denom if denom > 0 else 0.0
                if v == 0.0:
                    continue
                if size < k:
                    hv[size] = v
                    hc[size] = d
                    _sift_up(hv, hc, size)
                    size += 1
                elif _worse(hv[0], hc[0], v, d):
                    hv[0] = v
                    hc[0] = d
                    _sift_down(hv, hc, size, 0)
            counts[r] = size
            # pop the worst first: fill the row from the back
            while size > 0:
                size -= 1
                vals[r, size] = hv[0]
                cols[r, size] = hc[0]
                hv[0] = hv[size]
                hc[0] = hc[size]
                _sift_down(hv, hc, size, 0)
    return counts, cols, vals
