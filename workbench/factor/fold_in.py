"""Fold-in solvers: new users' factors from their interactions, item parameters frozen.

One function per kind of model, each solving every user of ``history`` (a users x items CSR
matrix in the model's item space):

- `ridge_fold_in` — explicit ratings, biased MF: the ALS half-step (regularised least squares
  of the residuals ``r - mu - b_i`` on the item factors plus a bias column).
- `confidence_fold_in` — implicit feedback: the Hu, Koren and Volinsky (2008) half-step,
  ``(YᵀY + Yᵤᵀ(Cᵤ - I)Yᵤ + λI) x = Yᵤᵀ Cᵤ 1`` (what `implicit`'s ``recalculate_user`` solves).
- `nonnegative_solve` — the one non-negative solve (NMF on observed ratings, Spark's
  non-negative ALS, zero-filled NMF): ``min ½ xᵀAx - bᵀx``, x >= 0, per user, exact (projected
  coordinate descent to convergence); `nonnegative_fold_in` is its zero-filled NMF form
  ``min ||xᵤ - wH||² + l2 ||w||² + l1 |w|`` (the ``update_H=False`` problem of scikit-learn).

Gradient fold-in (SGD, PyTorch) is a few epochs of the model's own training with items
frozen: the model implements ``_fold_in``, `gradient_options` checks its per-call options and
`gradient_schedule` turns them into the epochs and learning rate to run.
A user with no interactions gets zero factors (and zero bias).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from workbench.capabilities import gradient_options  # noqa: F401 (also importable from here)
from workbench.errors import ParamError


def gradient_schedule(
    options: dict[str, Any], *, n_epochs: int, lr: float
) -> tuple[int, float]:
    """``(n_epochs, lr)`` of a gradient fold-in: the per-call options (already checked by
    `gradient_options`, None dropped), else the model's defaults given here."""
    return int(options.get("n_epochs") or n_epochs), float(options.get("lr") or lr)


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


def nonnegative_solve(
    history: sp.csr_matrix,
    item_factors: np.ndarray,
    *,
    reg: float | np.ndarray = 0.0,
    gram: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    l1: float = 0.0,
    sweeps: int = 1000,
    tol: float = 1e-10,
) -> np.ndarray:
    """The one non-negative fold-in solve: for each row ``u`` of ``history`` (users x items,
    the model's item space), ``x_u >= 0`` minimising ``½ xᵀA x - bᵀx`` with

    ``A = gram + Σ_i w_i y_i y_iᵀ + reg_u I`` and ``b = Σ_i t_i y_i - l1``

    over the row's entries ``i`` (``y_i`` the item factors). ``weights`` (``w``, default 1)
    and ``targets`` (``t``, default the values) are per stored entry; ``reg`` one value or
    one per user. This covers non-negative ALS on observed ratings (``w = 1``, ``t`` the
    residual rating, ``reg_u = λ n_u``), its implicit form (``gram = YᵀY``, ``w = c - 1``,
    ``t = c p``) and zero-filled NMF with H frozen (``gram = HHᵀ + l2 I``, ``w = 0``, ``t``
    the values, ``l1``). Exact up to ``tol`` (projected coordinate descent to convergence,
    at most ``sweeps`` passes; `workbench.factor.kernels.nnls_rows`). Rows without entries
    get zero factors. Returns float32 (n_users x f).
    """
    from workbench.factor.kernels import nnls_rows

    y = np.ascontiguousarray(item_factors, dtype=np.float64)
    n, f = history.shape[0], y.shape[1]
    if sweeps < 1:
        raise ParamError(f"nonnegative fold-in: sweeps must be >= 1, got {sweeps}")
    nnz = history.nnz
    w = np.ones(nnz) if weights is None else np.asarray(weights, dtype=np.float64)
    t = history.data if targets is None else targets
    t = np.ascontiguousarray(t, dtype=np.float64)
    if w.shape != (nnz,) or t.shape != (nnz,):
        raise ParamError(
            f"nonnegative fold-in: weights and targets need one value per entry ({nnz})"
        )
    base = np.zeros((f, f)) if gram is None else np.array(gram, dtype=np.float64, copy=True)
    lam = np.ascontiguousarray(np.broadcast_to(np.asarray(reg, dtype=np.float64), (n,)))
    out = np.zeros((n, f), dtype=np.float64)
    nnls_rows(
        history.indptr.astype(np.int64), history.indices.astype(np.int64),
        np.ascontiguousarray(w), t, y, base, lam, float(l1), int(sweeps), float(tol), out,
    )
    return out.astype(np.float32)


def nonnegative_fold_in(
    history: sp.csr_matrix,
    components: np.ndarray,
    *,
    l2: float = 0.0,
    l1: float = 0.0,
    n_iter: int = 1000,
    tol: float = 1e-10,
    seed: int = 0,
) -> np.ndarray:
    """Non-negative ``W`` (users x k) with ``H = components`` (k x items) fixed, minimising
    ``0.5 ||X - WH||² + 0.5 l2 ||W||² + l1 |W|`` over the zero-filled rows of ``history``
    (scikit-learn's ``update_H=False`` problem): `nonnegative_solve` with ``gram = HHᵀ``,
    no weights on the stored entries and ``reg = l2``. Only the k x k Gram matrix and
    sparse products are formed (no dense rows). ``n_iter`` caps the coordinate-descent
    passes; ``seed`` is unused (the solve starts from zero; kept for v2 callers).
    """
    h = np.asarray(components, dtype=np.float64)
    return nonnegative_solve(
        history,
        h.T,
        reg=l2,
        gram=h @ h.T,
        weights=np.zeros(history.nnz),
        l1=l1,
        sweeps=n_iter,
        tol=tol,
    )
