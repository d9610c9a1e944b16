"""Numba building blocks shared by the compiled loops of the MF plugins (SGD, ALS) and the
non-negative fold-in solve (`nnls_rows`, behind `workbench.factor.fold_in.nonnegative_solve`).

`dot` sums into 16 independent float32 lanes in a fixed order, then reduces the lanes
pairwise (`reduce_lanes`) and adds the tail in order: the compiler turns a block of 16
factors into one vector register without reassociating anything, so the result does not
depend on the CPU, the numba cache state or fast-math flags elsewhere (IEEE semantics,
``fastmath=False``). Every kernel that calls it (``inline="always"``) computes bit-identical
dot products.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Lanes of the reductions: one AVX-512 register of float32 (two AVX2 registers).
LANES = 16


@njit(cache=True, fastmath=False, inline="always")
def reduce_lanes(acc: np.ndarray) -> np.float32:  # pragma: no cover - compiled
    """Sum of the 16 lanes in a fixed pairwise order."""
    a = (acc[0] + acc[8]) + (acc[4] + acc[12])
    b = (acc[2] + acc[10]) + (acc[6] + acc[14])
    c = (acc[1] + acc[9]) + (acc[5] + acc[13])
    d = (acc[3] + acc[11]) + (acc[7] + acc[15])
    return (a + b) + (c + d)


@njit(cache=True, fastmath=False, inline="always")
def dot_n(a: np.ndarray, b: np.ndarray, n: int, acc: np.ndarray) -> np.float32:  # pragma: no cover
    """``a[:n] . b[:n]``: lane ``j`` sums the products at positions ``k`` with ``k % 16 == j``
    over full blocks of 16, the lanes are reduced pairwise (`reduce_lanes`), then the tail is
    added in order. ``acc`` is a float32 scratch array of `LANES` (allocated once per call of
    a kernel, or once per row of a parallel one)."""
    for j in range(LANES):
        acc[j] = np.float32(0.0)
    k = 0
    while k + LANES <= n:
        for j in range(LANES):
            acc[j] += a[k + j] * b[k + j]
        k += LANES
    s = reduce_lanes(acc)
    while k < n:
        s += a[k] * b[k]
        k += 1
    return s


@njit(cache=True, fastmath=False, inline="always")
def dot(a: np.ndarray, b: np.ndarray, acc: np.ndarray) -> np.float32:  # pragma: no cover
    """``a . b`` over the whole of ``a`` (`dot_n` with ``n = len(a)``)."""
    return dot_n(a, b, a.shape[0], acc)


@njit(cache=True, inline="always")
def zero_empty_row(indptr: np.ndarray, u: int, x: np.ndarray) -> bool:  # pragma: no cover
    """Whether CSR row ``u`` has no entries, setting its solution ``x`` to zero if so: the
    first step of every row solve of a half-step (ALS, NMF, the non-negative fold-in)."""
    if indptr[u] != indptr[u + 1]:
        return False
    for a in range(x.shape[0]):
        x[a] = 0.0
    return True


@njit(cache=True, inline="always")
def sorted_position(indices: np.ndarray, lo: int, hi: int, target: int) -> int:  # pragma: no cover
    """Position of ``target`` in the sorted ``indices[lo:hi]`` (a CSR row), or -1 (binary
    search)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        v = indices[mid]
        if v == target:
            return mid
        if v < target:
            lo = mid + 1
        else:
            hi = mid
    return -1


@njit(parallel=True, cache=True, fastmath=False)
def nnls_rows(  # pragma: no cover - compiled
    indptr, indices, weights, targets, Y, base, lam, l1, sweeps, tol, out
):
    """Non-negative solve of every row ``u`` of a CSR matrix, in parallel over rows:
    ``min_x ½ xᵀA x - bᵀx, x >= 0`` with ``A = base + Σ w_i y_i y_iᵀ + lam[u] I`` and
    ``b = Σ t_i y_i - l1`` over the row's entries ``i`` (``y_i = Y[i]``), by projected
    coordinate descent from zero until no coordinate moves by more than ``tol`` times
    ``max(1, max x)`` (``sweeps`` passes at most). Float64, IEEE order (no fast-math), so a
    row's solution depends on nothing but its inputs. Rows without entries are zero."""
    n, f = out.shape
    for u in prange(n):
        if zero_empty_row(indptr, u, out[u]):
            continue
        lo, hi = indptr[u], indptr[u + 1]
        A = base.copy()
        b = np.empty(f, dtype=np.float64)
        for a in range(f):
            b[a] = -l1
        for idx in range(lo, hi):
            y = Y[indices[idx]]
            w = weights[idx]
            t = targets[idx]
            for a in range(f):
                b[a] += t * y[a]
                if w != 0.0:
                    wa = w * y[a]
                    for c in range(a + 1):
                        A[a, c] += wa * y[c]
        for a in range(f):
            for c in range(a):
                A[c, a] = A[a, c]
            A[a, a] += lam[u]
        x = np.zeros(f, dtype=np.float64)
        for _ in range(sweeps):
            moved = 0.0
            size = 1.0
            for a in range(f):
                if A[a, a] <= 0.0:
                    continue
                g = b[a]
                for c in range(f):
                    g -= A[a, c] * x[c]
                new = x[a] + g / A[a, a]
                if new < 0.0:
                    new = 0.0
                delta = abs(new - x[a])
                if delta > moved:
                    moved = delta
                if new > size:
                    size = new
                x[a] = new
            if moved <= tol * size:
                break
        for a in range(f):
            out[u, a] = x[a]
