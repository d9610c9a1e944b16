"""Fold-in solvers: new users' factors from their interactions, item parameters frozen.

One function per kind of model, each solving every user of ``history`` (a users x items CSR
matrix in the model's item space):

- `ridge_fold_in` — explicit ratings, biased MF: the ALS half-step (regularised least squares
  of the residuals ``r - mu - b_i`` on the item factors plus a bias column).
- `confidence_fold_in` — implicit feedback: the Hu, Koren and Volinsky (2008) half-step,
  ``(YᵀY + Yᵤᵀ(Cᵤ - I)Yᵤ + λI) x = Yᵤᵀ Cᵤ 1`` (what `implicit`'s ``recalculate_user`` solves).
- `nonnegative_fold_in` — zero-filled NMF: ``min ||xᵤ - wH||² + l2 ||w||² + l1 |w|``, w >= 0,
  by multiplicative updates on the Gram matrix (the ``update_H=False`` step of scikit-learn).

Gradient fold-in (SGD, PyTorch) is a few epochs of the model's own training with items
frozen: the model implements ``_fold_in``, and `gradient_options` checks its per-call options.
A user with no interactions gets zero factors (and zero bias).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from workbench.capabilities import gradient_options  # noqa: F401 (also importable from here)
from workbench.errors import ParamError

#: Users solved together in `nonnegative_fold_in` (bounds the n x k work arrays).
NMF_BLOCK = 4096


def ridge_fold_in(
    history: sp.csr_matrix,
    item_factors: np.ndarray,
    *,
    reg: float,
    global_mean: float = 0.0,
    item_bias: np.ndarray | None = None,
    with_bias: bool = True,
    scale_reg_by_count: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(factors, bias) minimising ``sum (r - mu - b_i - b_u - x.q_i)^2 + reg' ||(x, b_u)||^2``.

    ``reg' = reg * n_u`` (weighted-lambda, Zhou et al. 2008) when ``scale_reg_by_count``.
    Without ``with_bias`` the bias column is left out and the returned bias is zero.
    """
    n, f = history.shape[0], item_factors.shape[1]
    factors = np.zeros((n, f), dtype=np.float32)
    bias = np.zeros(n, dtype=np.float32)
    width = f + 1 if with_bias else f
    eye = np.eye(width)
    for r in range(n):
        lo, hi = history.indptr[r], history.indptr[r + 1]
        if lo == hi:
            continue
        items = history.indices[lo:hi]
        target = history.data[lo:hi] - global_mean
        if item_bias is not None:
            target = target - item_bias[items]
        x = item_factors[items]
        if with_bias:
            x = np.hstack([x, np.ones((hi - lo, 1), np.float32)])
        lam = reg * (hi - lo) if scale_reg_by_count else reg
        sol = np.linalg.solve(x.T @ x + lam * eye, x.T @ target)
        factors[r] = sol[:f]
        if with_bias:
            bias[r] = sol[f]
    return factors, bias


def confidence(
    values: np.ndarray,
    alpha: float,
    kind: Literal["linear", "log"] = "linear",
    eps: float = 1.0,
    *,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Hu-Koren-Volinsky confidence of interaction strengths: ``1 + alpha r`` or
    ``1 + alpha log(1 + r / eps)``, computed in ``dtype`` (the one implementation: fold-in
    solves in float64, implicit ALS trains on float32 confidences)."""
    values = np.asarray(values, dtype=dtype)
    if kind == "linear":
        return (1.0 + alpha * values).astype(dtype)
    if kind == "log":
        return (1.0 + alpha * np.log1p(values / eps)).astype(dtype)
    raise ParamError(f"confidence must be 'linear' or 'log', got {kind!r}")


def confidence_fold_in(
    history: sp.csr_matrix,
    item_factors: np.ndarray,
    *,
    reg: float | np.ndarray,
    alpha: float,
    kind: Literal["linear", "log"] = "linear",
    eps: float = 1.0,
    gram: np.ndarray | None = None,
) -> np.ndarray:
    """Factors of each user (row of ``history``, values = interaction strengths r > 0) by the
    exact confidence-weighted least-squares solve, items frozen (the one Hu-Koren-Volinsky
    user solve: implicit ALS, Spark's implicit ALS and the ranking factor kind use it).

    ``reg`` is one value or one per user (Spark scales it by the user's count). ``gram``
    (``YᵀY``) may be passed when already computed. Users without interactions get zero
    factors (their right-hand side is zero).
    """
    y = np.asarray(item_factors, dtype=np.float64)
    n, f = history.shape[0], y.shape[1]
    yty = y.T @ y if gram is None else np.asarray(gram, dtype=np.float64)
    eye = np.eye(f)
    per_user = np.ndim(reg) > 0
    base = None if per_user else yty + reg * eye
    regs = np.broadcast_to(np.asarray(reg, dtype=np.float64), (n,))
    out = np.zeros((n, f), dtype=np.float32)
    for r in range(n):
        lo, hi = history.indptr[r], history.indptr[r + 1]
        if lo == hi:
            continue
        yu = y[history.indices[lo:hi]]
        c = confidence(history.data[lo:hi], alpha, kind, eps)
        a = (yty + regs[r] * eye if base is None else base) + (yu.T * (c - 1.0)) @ yu
        out[r] = np.linalg.solve(a, yu.T @ c)
    return out


def nonnegative_fold_in(
    history: sp.csr_matrix,
    components: np.ndarray,
    *,
    l2: float = 0.0,
    l1: float = 0.0,
    n_iter: int = 200,
    tol: float = 1e-4,
    seed: int = 0,
) -> np.ndarray:
    """Non-negative ``W`` (users x k) with ``H = components`` (k x items) fixed, minimising
    ``0.5 ||X - WH||² + 0.5 l2 ||W||² + l1 |W|`` over the zero-filled rows of ``history``.

    Multiplicative updates ``W <- W * (XHᵀ) / (W HHᵀ + l2 W + l1)`` from a seeded positive
    start; only the k x k Gram matrix and sparse products are formed (no dense rows).
    """
    h = np.asarray(components, dtype=np.float64)
    hht = h @ h.T
    n, k = history.shape[0], h.shape[0]
    out = np.zeros((n, k), dtype=np.float32)
    rng = np.random.default_rng(seed)
    scale = np.sqrt(max(float(history.data.mean()) if history.nnz else 0.0, 0.0) / max(k, 1))
    for start in range(0, n, NMF_BLOCK):
        block = history[start : start + NMF_BLOCK]
        xht = np.asarray(block @ h.T)
        w = np.abs(rng.standard_normal((block.shape[0], k))) * scale + 1e-6
        for _ in range(n_iter):
            denom = w @ hht + l2 * w + l1
            new = w * xht / np.maximum(denom, 1e-12)
            change = np.abs(new - w).max(initial=0.0)
            w = new
            if change < tol * max(float(w.max(initial=0.0)), 1e-12):
                break
        w[np.diff(block.indptr) == 0] = 0.0
        out[start : start + block.shape[0]] = w
    return out
