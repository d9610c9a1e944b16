"""Compiled hot loops of SVD++ (Koren 2008), numba, float32, fixed operation order.

The ratings of one epoch arrive grouped by user (users in random order, each user's
ratings in random order). For a user ``u`` with rated set ``N(u)`` the implicit part
``|N(u)|^-1/2 sum_j y_j`` is computed once; the user's ratings are then visited by SGD,
and the accumulated gradient of the ``y_j`` is applied once at the end of the user's
block. This is the usual fast form of SVD++: an epoch costs O(ratings x factors) instead
of O(ratings x |N(u)| x factors) for the naive per-rating update of every ``y_j``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from workbench_sgd._kernels import LANES, dot, user_step


@njit(cache=True, fastmath=False)
def implicit_sum(
    u: int, indptr: np.ndarray, indices: np.ndarray, y: np.ndarray, out: np.ndarray
) -> float:
    """``out = |N(u)|^-1/2 sum_{j in N(u)} y_j`` (in index order); returns the norm factor."""
    lo, hi = indptr[u], indptr[u + 1]
    out[:] = 0.0
    if hi == lo:
        return 0.0
    for t in range(lo, hi):
        yj = y[indices[t]]
        for f in range(out.shape[0]):
            out[f] += yj[f]
    norm = np.float32(1.0 / math.sqrt(hi - lo))
    for f in range(out.shape[0]):
        out[f] *= norm
    return norm


@njit(cache=True, fastmath=False, inline="always")
def user_block_end(users: np.ndarray, t: int) -> int:
    """The end of the block of ratings of user ``users[t]`` that starts at ``t`` (ratings
    arrive grouped by user)."""
    u = users[t]
    end = t
    while end < users.shape[0] and users[end] == u:
        end += 1
    return end


@njit(cache=True, fastmath=False, inline="always")
def implicit_factor_step(
    pu: np.ndarray, qi: np.ndarray, qe: np.ndarray, z: np.ndarray, grad: np.ndarray,
    err: np.float32, lr: np.float32, reg: np.float32,
) -> None:
    """The SGD step of ``p_u`` (along ``qe``, the item's effective vector) and ``q_i``
    (along ``z``, the user's effective vector) for the error ``err``, old values in both
    gradients; ``grad`` accumulates ``err qe`` for the block's step of the ``y_j``."""
    for f in range(pu.shape[0]):
        pf = pu[f]
        qf = qi[f]
        ef = qe[f]
        pu[f] = pf + lr * (err * ef - reg * pf)
        qi[f] = qf + lr * (err * z[f] - reg * qf)
        grad[f] += err * ef


@njit(cache=True, fastmath=False, inline="always")
def implicit_step(
    u: int, indptr: np.ndarray, indices: np.ndarray, y: np.ndarray, grad: np.ndarray,
    norm: np.float32, lr: np.float32, reg_implicit: np.float32,
) -> None:
    """One step of every ``y_j``, ``j`` in ``N(u)``, with the user's accumulated gradient:
    ``y_j += lr (norm grad - reg_implicit y_j)``."""
    for r in range(indptr[u], indptr[u + 1]):
        yj = y[indices[r]]
        for f in range(yj.shape[0]):
            yj[f] += lr * (norm * grad[f] - reg_implicit * yj[f])


@njit(cache=True, fastmath=False)
def svdpp_epoch(
    users: np.ndarray,
    items: np.ndarray,
    values: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    mu: np.float32,
    bu: np.ndarray,
    bi: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    y: np.ndarray,
    lr: np.float32,
    reg: np.float32,
    reg_bias: np.float32,
    reg_implicit: np.float32,
    update_items: bool,
) -> float:
    """One SGD pass over ratings grouped by user; returns the sum of squared errors.

    Prediction ``mu + bu + bi + q_i . (p_u + |N(u)|^-1/2 sum_j y_j)``; ``N(u)`` is row ``u``
    of (``indptr``, ``indices``). With ``update_items`` false only ``bu`` and ``p_u`` move.
    """
    n_factors = p.shape[1]
    acc = np.zeros(LANES, dtype=np.float32)
    imp = np.zeros(n_factors, dtype=np.float32)
    z = np.zeros(n_factors, dtype=np.float32)
    grad = np.zeros(n_factors, dtype=np.float32)
    sse = 0.0
    t = 0
    while t < users.shape[0]:
        u = users[t]
        end = user_block_end(users, t)
        norm = np.float32(implicit_sum(u, indptr, indices, y, imp))
        pu = p[u]
        grad[:] = 0.0
        for s in range(t, end):
            i = items[s]
            qi = q[i]
            for f in range(n_factors):
                z[f] = pu[f] + imp[f]
            pred = mu + bu[u] + bi[i] + dot(z, qi, acc)
            err = values[s] - pred
            sse += float(err) * float(err)
            bu[u] += lr * (err - reg_bias * bu[u])
            if update_items:
                bi[i] += lr * (err - reg_bias * bi[i])
                implicit_factor_step(pu, qi, qi, z, grad, err, lr, reg)
            else:
                user_step(pu, qi, err, lr, reg)
        if update_items and norm > 0:
            implicit_step(u, indptr, indices, y, grad, norm, lr, reg_implicit)
        t = end
    return sse


@njit(cache=True, fastmath=False)
def effective_factors(
    p: np.ndarray, indptr: np.ndarray, indices: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """``p_u + |N(u)|^-1/2 sum_j y_j`` for every row of ``p``: the vector scored with ``q_i``."""
    out = np.empty_like(p)
    imp = np.zeros(p.shape[1], dtype=np.float32)
    for u in range(p.shape[0]):
        implicit_sum(u, indptr, indices, y, imp)
        for f in range(p.shape[1]):
            out[u, f] = p[u, f] + imp[f]
    return out
