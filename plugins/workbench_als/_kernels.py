"""Numba kernels of alternating least squares: one half-step for every row at once.

Each kernel updates the rows of ``X`` (users, or items on the other half-step) from the
CSR rows ``indptr``/``indices`` and the fixed factors ``Y`` of the other side, in parallel
over rows (``prange``). There is no Python loop per user: a half-step is one call.

- `implicit_cg_rows`: Hu, Koren and Volinsky (2008) with the conjugate-gradient solver of
  Takács, Pilászy and Tikk (2011), warm-started from the current rows, with a
  regularisation per row (one value for all, or frequency-scaled: Rendle et al. 2022).
- `weighted_cholesky`: the exact solve of ``(B + sum_i w_i y_i y_i^T + s_u diag(d)) x =
  sum_i t_i y_i`` by a Cholesky factorisation per row; covers implicit ALS (B = Y^T Y,
  w = c - 1, t = c) and explicit weighted-lambda ALS (B = 0, w = 1, t = residual rating,
  s_u = lambda * n_u).
- `ridge_cg`: conjugate-gradient steps on the explicit ridge systems (warm start).
- `implicit_loss` / `explicit_sse`: the observed-entry parts of the training losses.

No kernel uses ``fastmath``: a ``prange`` loop is compiled twice by numba (once on its own,
which is what runs in the process that compiled it, and once more inside the calling
function, which is what the on-disk cache keeps), and with fast-math flags LLVM reorders
and fuses the float operations of the two copies differently, so predictions depended on
whether the kernels came from the cache (explicit ALS, about 1e-9 RMSE, issue 22; and the
implicit CG at 16 and 37 factors, found on 2026-12-07: it had kept fast-math). With IEEE
semantics both copies compute the same thing. Dot products keep their speed by summing into
16 independent lanes in a fixed order (`_dot`), which vectorises without reassociation, and
the losses sum one partial per row, then the rows in order, so they do not depend on the
number of threads either.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from workbench.factor.kernels import LANES, zero_empty_row
from workbench.factor.kernels import dot_n as _dot

# The CG kernels share one row solve, `_cg_row`; ``kind`` (a constant in each kernel, so
# its branches fold away at compile time) picks the system.
IMPLICIT, RIDGE = 1, 2


@njit(cache=True, inline="always")
def _cg_update(kind, x, r, p, ap, rs_old, f, acc):  # pragma: no cover - compiled
    """One conjugate-gradient update given ``ap = A p``: moves ``x`` and the residual ``r``
    along ``p`` and sets the next direction. Returns the new ``r·r``, or -1 when converged
    (or the direction is not a descent one)."""
    pap = _dot(p, ap, f, acc)
    if pap <= 0.0:
        return np.float32(-1.0)
    step = rs_old / pap
    for a in range(f):
        x[a] += step * p[a]
        r[a] -= step * ap[a]
    rs_new = _dot(r, r, f, acc)
    if rs_new < 1e-20:
        return np.float32(-1.0)
    beta = rs_new / rs_old
    for a in range(f):
        p[a] = r[a] + beta * p[a]
    return rs_new


@njit(cache=True, inline="always")
def _base_product(kind, v, a, YtY, reg, reg_diag, f, acc):  # pragma: no cover - compiled
    """Entry ``a`` of ``B v``, the part of the system without the row's entries:
    ``(YtY + reg I) v`` for implicit systems, ``reg diag(reg_diag) v`` for the ridge."""
    if kind == RIDGE:
        return reg * reg_diag[a] * v[a]
    return _dot(YtY[a], v, f, acc) + reg * v[a]


@njit(cache=True, inline="always")
def _cg_row(
    kind, x, indptr, u, indices, weights, Y, YtY, reg, reg_diag, cg_steps
):  # pragma: no cover - compiled
    """``cg_steps`` conjugate-gradient steps on the system of CSR row ``u`` (its solution
    ``x``, warm start, in place): ``(B + sum w y y^T) x = sum t y`` over the row's entries
    with ``B`` as in `_base_product`; implicit: ``t = c``, ``w = c - 1`` (``weights`` holds
    ``c``), ridge: ``t = weights``, ``w = 1``. A row without entries becomes zero."""
    if zero_empty_row(indptr, u, x):
        return
    lo, hi = indptr[u], indptr[u + 1]
    f = x.shape[0]
    r = np.empty(f, dtype=np.float32)
    p = np.empty(f, dtype=np.float32)
    ap = np.empty(f, dtype=np.float32)
    acc = np.empty(LANES, dtype=np.float32)
    for a in range(f):  # r = b - A x
        if kind == RIDGE:
            r[a] = -reg * reg_diag[a] * x[a]
        else:
            r[a] = -_dot(YtY[a], x, f, acc) - reg * x[a]
    for idx in range(lo, hi):
        y = Y[indices[idx]]
        c = weights[idx]
        if kind == RIDGE:
            coef = c - _dot(y, x, f, acc)
        else:
            coef = c - (c - np.float32(1.0)) * _dot(y, x, f, acc)
        for a in range(f):
            r[a] += coef * y[a]
    rs_old = _dot(r, r, f, acc)
    if rs_old < 1e-20:
        return
    for a in range(f):
        p[a] = r[a]
    for _ in range(cg_steps):
        for a in range(f):
            ap[a] = _base_product(kind, p, a, YtY, reg, reg_diag, f, acc)
        for idx in range(lo, hi):
            y = Y[indices[idx]]
            if kind == RIDGE:
                coef = _dot(y, p, f, acc)
            else:
                coef = (weights[idx] - np.float32(1.0)) * _dot(y, p, f, acc)
            for a in range(f):
                ap[a] += coef * y[a]
        rs_old = _cg_update(kind, x, r, p, ap, rs_old, f, acc)
        if rs_old < 0.0:
            break


@njit(parallel=True, cache=True)
def implicit_cg_rows(
    indptr, indices, conf, X, Y, YtY, reg_rows, cg_steps
):  # pragma: no cover - compiled
    """``cg_steps`` conjugate-gradient steps on ``(YtY + reg_rows[u] I + sum (c-1) y y^T) x
    = sum c y`` for every row u of ``X`` (in place, warm start; rows without entries become
    zero), in IEEE arithmetic with the fixed-lane `_dot`: the same results from a cold or a
    warm numba cache and for any number of threads."""
    no_diag = np.empty(0, dtype=np.float32)
    for u in prange(X.shape[0]):
        reg = np.float32(reg_rows[u])
        _cg_row(IMPLICIT, X[u], indptr, u, indices, conf, Y, YtY, reg, no_diag, cg_steps)


@njit(parallel=True, cache=True)
def ridge_cg(
    indptr, indices, targets, Y, reg_scale, reg_diag, X, cg_steps
):  # pragma: no cover - compiled
    """``cg_steps`` conjugate-gradient steps per row u on ``(sum y y^T + reg_scale[u]
    diag(reg_diag)) x = sum t y`` (the explicit ALS ridge), warm-started from ``X[u]`` and
    updated in place; 2 f flops per entry and step instead of the f^2 / 2 of building the
    matrix. Rows without entries become zero."""
    no_base = np.empty((0, 0), dtype=np.float32)
    for u in prange(X.shape[0]):
        lam = np.float32(reg_scale[u])
        _cg_row(RIDGE, X[u], indptr, u, indices, targets, Y, no_base, lam, reg_diag, cg_steps)


@njit(cache=True)
def _cholesky_factor(A, f):  # pragma: no cover - compiled
    """``A = L L^T`` in place: A's lower triangle becomes L (the upper is not read).
    Returns False when A is not positive definite."""
    for j in range(f):
        s = A[j, j]
        for k in range(j):
            s -= A[j, k] * A[j, k]
        if s <= 0.0:
            return False
        d = np.sqrt(s)
        A[j, j] = d
        for i in range(j + 1, f):
            s = A[i, j]
            for k in range(j):
                s -= A[i, k] * A[j, k]
            A[i, j] = s / d
    return True


@njit(cache=True)
def _cholesky_solve(A, b, f):  # pragma: no cover - compiled
    """Solve A x = b in place (A's lower triangle is overwritten, b becomes x).
    Returns False when A is not positive definite."""
    if not _cholesky_factor(A, f):
        return False
    for j in range(f):
        s = b[j]
        for k in range(j):
            s -= A[j, k] * b[k]
        b[j] = s / A[j, j]
    for j in range(f - 1, -1, -1):
        s = b[j]
        for k in range(j + 1, f):
            s -= A[k, j] * b[k]
        b[j] = s / A[j, j]
    return True


@njit(parallel=True, cache=True)
def weighted_cholesky(
    indptr, indices, weights, targets, Y, base, reg_scale, reg_diag, X
):  # pragma: no cover - compiled
    """Exact solve per row u of ``(base + sum w y y^T + reg_scale[u] diag(reg_diag)) x =
    sum t y`` into ``X[u]`` (sums in ``base``'s dtype, the solve in float64). Rows without
    entries become zero; returns the number of rows whose system was not positive definite
    (left at zero)."""
    n, f = X.shape
    failed = 0
    for u in prange(n):
        lo, hi = indptr[u], indptr[u + 1]
        if lo == hi:
            for a in range(f):
                X[u, a] = 0.0
            continue
        # the sums are accumulated in base's precision (float32: SIMD-wide, what LensKit
        # does; float64 for the exact fold-in), the factorisation in float64
        acc = np.empty((f, f), dtype=base.dtype)
        rhs = np.zeros(f, dtype=np.float64)
        for a in range(f):
            for b in range(a + 1):
                acc[a, b] = base[a, b]
        for idx in range(lo, hi):
            y = Y[indices[idx]]
            w = weights[idx]
            t = np.float64(targets[idx])
            for a in range(f):
                rhs[a] += t * y[a]
                wy = w * y[a]
                for b in range(a + 1):
                    acc[a, b] += wy * y[b]
        A = np.empty((f, f), dtype=np.float64)
        for a in range(f):
            for b in range(a + 1):
                A[a, b] = acc[a, b]
            A[a, a] += reg_scale[u] * reg_diag[a]
        if _cholesky_solve(A, rhs, f):
            for a in range(f):
                X[u, a] = rhs[a]
        else:
            failed += 1
            for a in range(f):
                X[u, a] = 0.0
    return failed


@njit(cache=True)
def _ordered_sum(values):  # pragma: no cover - compiled
    """``sum(values)`` from the first to the last, outside any parallel region."""
    total = 0.0
    for v in values:
        total += v
    return total


@njit(cache=True, inline="always")
def _row_loss(
    kind, u, indptr, indices, values, X, Y, row_bias, col_bias, mu, acc
):  # pragma: no cover - compiled
    """Row ``u``'s part of a training loss, its entries in order: implicit ``sum c (1 -
    x.y)^2 - (x.y)^2`` (``values`` holds ``c``), explicit (``RIDGE``) ``sum (r - mu -
    row_bias - col_bias - x.y)^2``."""
    f = X.shape[1]
    s = 0.0
    for idx in range(indptr[u], indptr[u + 1]):
        i = indices[idx]
        if kind == RIDGE:
            est = mu + row_bias[u] + col_bias[i] + _dot(X[u], Y[i], f, acc)
            e = np.float64(values[idx]) - est
            s += e * e
        else:
            xy = np.float64(_dot(X[u], Y[i], f, acc))
            c = np.float64(values[idx])
            s += c * (1.0 - xy) ** 2 - xy * xy
    return s


@njit(parallel=True, cache=True)
def implicit_loss(indptr, indices, conf, X, Y):  # pragma: no cover - compiled
    """Observed-entry part of the implicit loss: ``sum c (1 - x.y)^2 - (x.y)^2`` (one
    partial sum per row, then the rows in order: the same for any number of threads)."""
    rows = np.zeros(X.shape[0], dtype=np.float64)
    no_bias = np.zeros(0, dtype=np.float32)
    for u in prange(X.shape[0]):
        acc = np.empty(LANES, dtype=np.float32)
        rows[u] = _row_loss(IMPLICIT, u, indptr, indices, conf, X, Y, no_bias, no_bias,
                            np.float32(0.0), acc)  # fmt: skip
    return _ordered_sum(rows)


@njit(parallel=True, cache=True)
def explicit_sse(indptr, indices, values, X, Y, row_bias, col_bias, mu):  # pragma: no cover
    """Sum of squared errors of ``mu + row_bias + col_bias + x.y`` over the entries (one
    partial sum per row, then the rows in order)."""
    rows = np.zeros(X.shape[0], dtype=np.float64)
    for u in prange(X.shape[0]):
        acc = np.empty(LANES, dtype=np.float32)
        rows[u] = _row_loss(RIDGE, u, indptr, indices, values, X, Y, row_bias, col_bias, mu,
                            acc)  # fmt: skip
    return _ordered_sum(rows)


# -- variational Bayes (explicit) ---------------------------------------------------------------
@njit(cache=True)
def _spd_inverse(A, g, inv):  # pragma: no cover - compiled
    """``inv = A^-1`` for a symmetric positive-definite ``A`` (lower triangle read; float64)
    by Cholesky, ``A = L L^T``, ``A^-1 = L^-T L^-1``. Returns False when ``A`` is not
    positive definite."""
    L = np.zeros((g, g))
    for i in range(g):
        for j in range(i + 1):
            L[i, j] = A[i, j]
    if not _cholesky_factor(L, g):
        return False
    Li = np.zeros((g, g))  # L^-1, lower triangular
    for j in range(g):
        Li[j, j] = 1.0 / L[j, j]
        for i in range(j + 1, g):
            s = 0.0
            for k in range(j, i):
                s -= L[i, k] * Li[k, j]
            Li[i, j] = s / L[i, i]
    for i in range(g):
        for j in range(i + 1):
            s = 0.0
            for k in range(i, g):
                s += Li[k, i] * Li[k, j]
            inv[i, j] = s
            inv[j, i] = s
    return True


@njit(parallel=True, cache=True)
def vb_half_step(
    indptr, indices, targets, other_mean, other_cov, other_full, prior_precision, prior_mean,
    tau, mean_out, cov_out, out_full, sse_out,
):  # pragma: no cover - compiled
    """The variational-Bayes update of every row u (Lim and Teh 2007) against the other
    side's Gaussian posteriors. Each row's unknowns are ``z = [factors, bias]`` (g = f + 1);
    an entry j of row u predicts ``targets[j] ≈ x_j · z + c_j`` with ``x_j = [q_j, 1]`` and
    ``c_j`` the other row's bias, ``[q_j, c_j]`` having mean ``other_mean[j]`` and covariance
    ``other_cov[j]`` (the packed lower triangle, row by row, when ``other_full``, else its
    diagonal). With ``G = sum E[x x^T]`` and ``h = sum E[(t - c) x]``:
    ``cov_out[u] = (diag(prior_precision) + tau G)^-1`` (stored packed or as its diagonal,
    ``out_full``), ``mean_out[u] = cov_out[u] (prior_precision * prior_mean + tau h)``, and
    ``sse_out[u]`` the expected sum of squared errors of the row's entries under both
    posteriors. A row without entries gets the prior. Returns the number of rows whose
    system was not positive definite (left at the prior)."""
    n, g = mean_out.shape
    f = g - 1
    corner = f * (f + 1) // 2  # packed index of (f, 0): the bias row
    failed = 0
    for u in prange(n):
        G = np.zeros((g, g))
        h = np.zeros(g)
        s0 = 0.0
        for idx in range(indptr[u], indptr[u + 1]):
            j = indices[idx]
            m = other_mean[j]
            cov = other_cov[j]
            resid = np.float64(targets[idx]) - m[f]
            var_c = cov[corner + f] if other_full else cov[f]
            s0 += resid * resid + var_c
            for a in range(f):
                h[a] += resid * m[a]
                for b in range(a + 1):
                    G[a, b] += m[a] * m[b]
                G[f, a] += m[a]
            h[f] += resid
            G[f, f] += 1.0
            if other_full:
                k = 0
                for a in range(f):
                    for b in range(a + 1):
                        G[a, b] += cov[k]
                        k += 1
                    h[a] -= cov[corner + a]  # E[c q] = m_c m_q + cov(q, c)
            else:
                for a in range(f):
                    G[a, a] += cov[a]
        A = np.empty((g, g))
        rhs = np.empty(g)
        for a in range(g):
            for b in range(a + 1):
                A[a, b] = tau * G[a, b]
            A[a, a] += prior_precision[a]
            rhs[a] = prior_precision[a] * prior_mean[a] + tau * h[a]
        inv = np.empty((g, g))
        ok = _spd_inverse(A, g, inv)
        if not ok:
            failed += 1
            for a in range(g):
                inv[a, :] = 0.0
                inv[a, a] = 1.0 / prior_precision[a]
                rhs[a] = prior_precision[a] * prior_mean[a]
        mean = mean_out[u]
        for a in range(g):
            s = 0.0
            for b in range(g):
                s += inv[a, b] * rhs[b]
            mean[a] = s
        out = cov_out[u]
        if out_full:
            k = 0
            for a in range(g):
                for b in range(a + 1):
                    out[k] = inv[a, b]
                    k += 1
        else:
            for a in range(g):
                out[a] = inv[a, a]
        # E[sum (t - c - x.z)^2] = s0 - 2 h.m + tr(G (m m^T + S)), G symmetric (lower stored)
        sse = s0
        for a in range(g):
            sse -= 2.0 * h[a] * mean[a]
            for b in range(g):
                gab = G[a, b] if b <= a else G[b, a]
                sse += gab * (mean[a] * mean[b] + inv[a, b])
        sse_out[u] = sse
    return failed
