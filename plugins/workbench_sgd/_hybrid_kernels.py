"""Compiled SGD pass of the time-aware / attribute-aware SVD++ family (numba, float32).

One kernel serves ``timesvdpp``, ``timebiases`` (no factors: the factor loops run zero times)
and ``svdpp-attr``; terms a model does not use are empty arrays or flagged off per rating
(bin -1, day -1, dev 0). The prediction for rating ``s`` of user ``u`` on item ``i``::

    mu + b_u + |A(u)|^-1/2 sum_a w_a + b_i + |G(i)|^-1/2 sum_g v_g       biases + attribute biases
       + b_{i,bin(t)} + alpha_u dev_u(t) + b_{u,day(t)}                   time terms
       + (q_i + |G(i)|^-1/2 sum_g z_g) . (p_u + |N(u)|^-1/2 sum_j y_j
                                             + |A(u)|^-1/2 sum_a x_a)     factors

As in the plain SVD++ kernel, ratings arrive grouped by user; the user's implicit and
attribute sum is computed once per user and the gradient of ``y_j`` is applied once at the
end of the user's block; the user attributes' ``x_a`` and ``w_a`` take one step per user
with the user's mean gradient (see the comment in the kernel).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from workbench_sgd._kernels import LANES, dot, user_step
from workbench_sgd._svdpp_kernels import (
    implicit_factor_step,
    implicit_step,
    implicit_sum,
    user_block_end,
)


@njit(cache=True, fastmath=False)
def _add_rows(
    r: int, indptr: np.ndarray, indices: np.ndarray, table: np.ndarray, out: np.ndarray
) -> float:
    """``out += |S(r)|^-1/2 sum_{a in S(r)} table[a]``; returns the norm factor (0: empty)."""
    lo, hi = indptr[r], indptr[r + 1]
    if hi == lo:
        return 0.0
    norm = np.float32(1.0 / math.sqrt(hi - lo))
    for t in range(lo, hi):
        row = table[indices[t]]
        for f in range(out.shape[0]):
            out[f] += norm * row[f]
    return norm


@njit(cache=True, fastmath=False)
def _bias_sum(r: int, indptr: np.ndarray, indices: np.ndarray, w: np.ndarray, norm) -> float:
    total = np.float32(0.0)
    for t in range(indptr[r], indptr[r + 1]):
        total += w[indices[t]]
    return total * norm


@njit(cache=True, fastmath=False)
def hybrid_epoch(
    users: np.ndarray,
    items: np.ndarray,
    values: np.ndarray,
    bins: np.ndarray,
    dev: np.ndarray,
    days: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    ua_indptr: np.ndarray,
    ua_indices: np.ndarray,
    ia_indptr: np.ndarray,
    ia_indices: np.ndarray,
    mu: np.float32,
    bu: np.ndarray,
    bi: np.ndarray,
    bit: np.ndarray,
    alpha: np.ndarray,
    but: np.ndarray,
    wu: np.ndarray,
    wi: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    y: np.ndarray,
    xu: np.ndarray,
    zi: np.ndarray,
    lr: np.float32,
    lr_time: np.float32,
    reg: np.float32,
    reg_bias: np.float32,
    reg_implicit: np.float32,
    reg_bin: np.float32,
    reg_drift: np.float32,
    reg_day: np.float32,
    reg_attr: np.float32,
    update_items: bool,
) -> float:
    """One SGD pass over ratings grouped by user; returns the sum of squared errors.

    With ``update_items`` false (fold-in) only ``bu``, ``alpha``, ``but`` and ``p_u`` move."""
    n_factors = p.shape[1]
    acc = np.zeros(LANES, dtype=np.float32)
    imp = np.zeros(n_factors, dtype=np.float32)
    z = np.zeros(n_factors, dtype=np.float32)
    qe = np.zeros(n_factors, dtype=np.float32)
    grad = np.zeros(n_factors, dtype=np.float32)
    sse = 0.0
    t = 0
    while t < users.shape[0]:
        u = users[t]
        end = user_block_end(users, t)
        norm = np.float32(implicit_sum(u, indptr, indices, y, imp))
        anorm = np.float32(_add_rows(u, ua_indptr, ua_indices, xu, imp))
        pu = p[u]
        grad[:] = 0.0
        esum = np.float32(0.0)
        for s in range(t, end):
            i = items[s]
            qi = q[i]
            gnorm = np.float32(0.0)
            for f in range(n_factors):
                qe[f] = qi[f]
            gnorm = np.float32(_add_rows(i, ia_indptr, ia_indices, zi, qe))
            for f in range(n_factors):
                z[f] = pu[f] + imp[f]
            pred = mu + bu[u] + bi[i] + dot(z, qe, acc)
            pred += _bias_sum(u, ua_indptr, ua_indices, wu, anorm)
            pred += _bias_sum(i, ia_indptr, ia_indices, wi, gnorm)
            b = bins[s]
            d = days[s]
            ds = dev[s]
            if b >= 0:
                pred += bit[i, b]
            pred += alpha[u] * ds
            if d >= 0:
                pred += but[d]
            err = values[s] - pred
            sse += float(err) * float(err)
            bu[u] += lr * (err - reg_bias * bu[u])
            if ds != 0.0:
                alpha[u] += lr_time * (err * ds - reg_drift * alpha[u])
            if d >= 0:
                but[d] += lr * (err - reg_day * but[d])
            if update_items:
                bi[i] += lr * (err - reg_bias * bi[i])
                if b >= 0:
                    bit[i, b] += lr * (err - reg_bin * bit[i, b])
                esum += err
                for r in range(ia_indptr[i], ia_indptr[i + 1]):
                    g = ia_indices[r]
                    wi[g] += lr * (gnorm * err - reg_bias * wi[g])
                    zg = zi[g]
                    for f in range(n_factors):
                        zg[f] += lr * (gnorm * err * z[f] - reg_attr * zg[f])
                implicit_factor_step(pu, qi, qe, z, grad, err, lr, reg)
            else:
                user_step(pu, qe, err, lr, reg)
        if update_items:
            if norm > 0:
                implicit_step(u, indptr, indices, y, grad, norm, lr, reg_implicit)
            if anorm > 0:
                # user attributes are shared by many users: one step per user with the
                # user's mean gradient (the summed gradient of a heavy user's block would
                # drag them to that user; per-rating steps chase the block's last ratings)
                inv = np.float32(1.0 / (end - t))
                for r in range(ua_indptr[u], ua_indptr[u + 1]):
                    a = ua_indices[r]
                    wu[a] += lr * (anorm * esum * inv - reg_attr * wu[a])
                    xa = xu[a]
                    for f in range(n_factors):
                        xa[f] += lr * (anorm * grad[f] * inv - reg_attr * xa[f])
        t = end
    return sse
