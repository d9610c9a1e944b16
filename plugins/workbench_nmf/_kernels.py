"""Numba kernels of NMF on observed entries (parallel over rows, one call per half-step)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from workbench.factor.kernels import zero_empty_row


@njit(cache=True, inline="always")
def _estimate(x, y, f):  # pragma: no cover - compiled
    """``x . y`` over ``f`` factors, summed in order from a float64 zero (compiled under the
    flags of the kernel that inlines it)."""
    est = 0.0
    for a in range(f):
        est += x[a] * y[a]
    return est


@njit(parallel=True, cache=True, fastmath=True)
def mu_half_step(indptr, indices, values, X, Y, reg):  # pragma: no cover - compiled
    """One multiplicative update of every row of ``X`` (Lee and Seung, over observed entries
    only, as Surprise's NMF): ``x <- x * sum r y / (sum (x.y) y + n_u reg x)``."""
    n, f = X.shape
    for u in prange(n):
        lo, hi = indptr[u], indptr[u + 1]
        if lo == hi:
            continue
        num = np.zeros(f, dtype=np.float64)
        den = np.zeros(f, dtype=np.float64)
        x = X[u]
        for idx in range(lo, hi):
            y = Y[indices[idx]]
            est = _estimate(x, y, f)
            r = values[idx]
            for a in range(f):
                num[a] += y[a] * r
                den[a] += y[a] * est
        n_u = hi - lo
        for a in range(f):
            d = den[a] + n_u * reg * x[a]
            if d > 0.0:
                x[a] = x[a] * num[a] / d


@njit(parallel=True, cache=True, fastmath=True)
def nnls_half_step(indptr, indices, values, X, Y, reg, sweeps, tol):  # pragma: no cover
    """Projected coordinate descent on every row of ``X`` (warm start): the non-negative
    ridge regression ``min sum (r - x.y)^2 + n_u reg |x|^2, x >= 0`` on the row's entries,
    ``sweeps`` passes at most, stopping when no coordinate moves by more than ``tol``.
    Rows without entries become zero."""
    n, f = X.shape
    for u in prange(n):
        x = X[u]
        if zero_empty_row(indptr, u, x):
            continue
        lo, hi = indptr[u], indptr[u + 1]
        A = np.zeros((f, f), dtype=np.float64)
        b = np.zeros(f, dtype=np.float64)
        for idx in range(lo, hi):
            y = Y[indices[idx]]
            r = np.float64(values[idx])
            for a in range(f):
                ya = np.float64(y[a])
                b[a] += r * ya
                for c in range(a + 1):
                    A[a, c] += ya * y[c]
        lam = (hi - lo) * reg
        for a in range(f):
            A[a, a] += lam
            for c in range(a + 1, f):
                A[a, c] = A[c, a]
        xd = np.empty(f, dtype=np.float64)
        for a in range(f):
            xd[a] = x[a]
        for _ in range(sweeps):
            moved = 0.0
            for a in range(f):
                g = b[a]
                for c in range(f):
                    g -= A[a, c] * xd[c]
                new = xd[a] + g / A[a, a]
                if new < 0.0:
                    new = 0.0
                delta = abs(new - xd[a])
                if delta > moved:
                    moved = delta
                xd[a] = new
            if moved <= tol:
                break
        for a in range(f):
            x[a] = xd[a]


@njit(parallel=True, cache=True)
def observed_sse(indptr, indices, values, X, Y):  # pragma: no cover - compiled
    """Sum over the entries of ``(r - x.y)^2``: one partial sum per row, then the rows in
    order, without fastmath, so the loss is the same for any number of threads and whether
    numba compiled this or loaded it from its cache (issue 22)."""
    n, f = X.shape
    rows = np.zeros(n, dtype=np.float64)
    for u in prange(n):
        s = 0.0
        for idx in range(indptr[u], indptr[u + 1]):
            est = _estimate(X[u], Y[indices[idx]], f)
            e = values[idx] - est
            s += e * e
        rows[u] = s
    total = 0.0
    for u in range(n):
        total += rows[u]
    return total


@njit(cache=True, fastmath=True)
def observed_cross(indptr, indices, values, W, Ht):  # pragma: no cover - compiled
    """``sum over the entries of r * (w_u . h_i)`` (the cross term of ``|X - WH|^2``).
    Serial on purpose: it is a small share of an iteration, and a parallel region between
    scikit-learn's single-threaded updates only waits for its threads on a busy machine."""
    n, k = W.shape
    total = 0.0
    for u in range(n):
        s = 0.0
        for idx in range(indptr[u], indptr[u + 1]):
            s += values[idx] * _estimate(W[u], Ht[indices[idx]], k)
        total += s
    return total


@njit(cache=True)
def cd_update(W, HHt, XHt):  # pragma: no cover - compiled
    """One pass of scikit-learn's coordinate descent over ``W`` (in place): its
    ``_update_cdnmf_fast`` with ``shuffle=False``, the same float operations in the same
    order (component by component, rows inside), without fastmath (no reordering, no fused
    multiply-add), so the factors are bitwise scikit-learn's. Serial like scikit-learn's:
    consecutive rows are independent, which keeps the core busy, and a parallel region
    between the small products only waits for its threads on a busy machine."""
    n, k = W.shape
    for t in range(k):
        hess = HHt[t, t]
        for i in range(n):
            # gradient = (W HHt - XHt)[i, t]
            grad = -XHt[i, t]
            for r in range(k):
                grad += HHt[t, r] * W[i, r]
            if hess != 0:
                step = W[i, t] - grad / hess
                W[i, t] = 0.0 if step < 0.0 else step  # max(step, 0.), as Cython
