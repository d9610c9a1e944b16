"""Non-negative matrix factorisation as plain functions on sparse matrices.

- **Zero-filled** (`fit_zero_filled`): scikit-learn's NMF of the users x items matrix with
  missing entries as zeros, every iteration reported: scikit-learn initialises and runs
  iteration 1; solver ``cd`` then runs scikit-learn's coordinate descent here, the same
  operations in the same order (`cd_half_step`), so with ``tol=0`` the factors equal one
  scikit-learn call with the same ``max_iter`` bitwise (at equal BLAS threads); solver ``mu``
  warm-starts one scikit-learn call per iteration. Loss: ``|X - WH|_F^2 / |X|_F^2``
  (relative squared error, without a dense matrix; for ``cd`` from the iteration's own
  products). Stops when an iteration lowers the loss by less than ``tol`` times the loss.
  Fold-in (`zero_filled_fold_in`) solves scikit-learn's ``update_H=False`` problem exactly.
- **Observed entries** (`fit_observed`): ``r ~ p_u . q_i`` with p, q >= 0 fitted on the
  observed ratings only, by multiplicative updates (as Surprise's NMF) or by projected
  coordinate descent (alternating non-negative least squares); penalty ``n_u reg |p_u|^2``.
  Loss: training MSE. Fold-in (`observed_fold_in`): the non-negative least-squares user step.

Both fold-ins are the core's one non-negative solve (`workbench.factor.fold_in`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from workbench.errors import DataError, ParamError
from workbench.factor.fold_in import nonnegative_fold_in, nonnegative_solve
from workbench.model import DivergenceGuard

IterationCallback = Callable[[int, float, float], None]


def _kernels():
    from workbench_nmf import _kernels

    return _kernels


def check_nonnegative(matrix: sp.spmatrix, what: str) -> None:
    """One-line `DataError` when ``matrix`` holds a negative or non-finite value."""
    data = matrix.data
    if not len(data):
        return
    if not np.isfinite(data).all():
        raise DataError(f"{what}: NMF needs finite values, got NaN/infinity")
    low = float(data.min())
    if low < 0:
        n_bad = int((data < 0).sum())
        raise DataError(
            f"{what}: NMF needs non-negative values, got {n_bad} negative (min {low:g}); "
            "shift or binarize the data first"
        )


def _stop(loss: float, iteration: int, hint: str) -> None:
    DivergenceGuard(hint, unit="iteration").check_finite(loss, iteration)


# -- zero-filled -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ZeroFilledConfig:
    n_components: int = 20
    init: str | None = None
    solver: str = "cd"
    max_iter: int = 200
    tol: float = 1e-4
    alpha_W: float = 0.0
    alpha_H: float | str = "same"
    l1_ratio: float = 0.0
    seed: int = 0


def _sklearn_kwargs(cfg: ZeroFilledConfig) -> dict:
    return {
        "n_components": cfg.n_components,
        "solver": cfg.solver,
        "beta_loss": "frobenius",
        "alpha_W": cfg.alpha_W,
        "alpha_H": cfg.alpha_H,
        "l1_ratio": cfg.l1_ratio,
        "random_state": cfg.seed,
    }


def relative_error(X: sp.csr_matrix, W: np.ndarray, H: np.ndarray, norm_x: float) -> float:
    """``|X - WH|_F^2 / |X|_F^2`` without forming WH."""
    cross = _kernels().observed_cross(
        X.indptr, X.indices, X.data, W, np.ascontiguousarray(H.T)
    )
    w64, h64 = W.astype(np.float64), H.astype(np.float64)
    quad = float(np.sum((w64.T @ w64) * (h64 @ h64.T)))
    return max(norm_x - 2.0 * cross + quad, 0.0) / max(norm_x, 1e-300)


def gram_relative_error(
    norm_x: float, XtW: np.ndarray, Ht: np.ndarray, WtW: np.ndarray, HHt: np.ndarray
) -> float:
    """``|X - WH|_F^2 / |X|_F^2`` from products an iteration has already computed:
    ``|X|^2 - 2 tr(W^T X H^T) + tr(W^T W H H^T)``, with ``XtW = X^T W`` (items x k),
    ``Ht = H^T``, ``WtW = W^T W`` and ``HHt = H H^T``; sums in float64."""
    cross = float(np.dot(XtW.ravel().astype(np.float64), Ht.ravel().astype(np.float64)))
    quad = float(np.sum(WtW.astype(np.float64) * HHt.astype(np.float64)))
    return max(norm_x - 2.0 * cross + quad, 0.0) / max(norm_x, 1e-300)


def regularization(cfg: ZeroFilledConfig, shape: tuple[int, int]) -> tuple[float, ...]:
    """(l1_W, l1_H, l2_W, l2_H): scikit-learn's ``_compute_regularization``, the same
    expressions (so the same floats)."""
    n_samples, n_features = shape
    alpha_W = cfg.alpha_W
    alpha_H = cfg.alpha_W if cfg.alpha_H == "same" else cfg.alpha_H
    return (
        n_features * alpha_W * cfg.l1_ratio,
        n_samples * alpha_H * cfg.l1_ratio,
        n_features * alpha_W * (1.0 - cfg.l1_ratio),
        n_samples * alpha_H * (1.0 - cfg.l1_ratio),
    )


def cd_half_step(
    X: sp.spmatrix, W: np.ndarray, Ht: np.ndarray, l1_reg: float, l2_reg: float,
    HHt: np.ndarray | None = None,
) -> np.ndarray:
    """Update ``W`` in place by one pass of scikit-learn's ``_update_coordinate_descent``
    (``shuffle=False``): the same products (``HHt = Ht^T Ht`` by numpy, ``XHt = X Ht`` by
    scipy), the same l1/l2 terms, and its per-component update (`_kernels.cd_update`).
    ``HHt``: ``Ht^T Ht`` when the caller has it already (not modified). Returns ``XHt``
    before the l1 term (for the loss)."""
    k = Ht.shape[1]
    HHt = np.dot(Ht.T, Ht) if HHt is None else HHt.copy()
    XHt = X @ Ht
    if l2_reg != 0.0:
        HHt.flat[:: k + 1] += l2_reg
    rhs = XHt - l1_reg if l1_reg != 0.0 else XHt
    _kernels().cd_update(W, HHt, rhs)
    return XHt


def fit_zero_filled(
    X: sp.csr_matrix, cfg: ZeroFilledConfig, callback: IterationCallback | None = None
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """(W users x k, H k x items, losses): scikit-learn's NMF, reporting every iteration.

    Iteration 1 is one ``non_negative_factorization(max_iter=1)`` call (scikit-learn's
    initialisation and first pass). After it, solver ``cd`` runs scikit-learn's coordinate
    descent here (`cd_half_step`: the same operations in the same order, so with ``tol=0``
    the factors equal one scikit-learn call with the same ``max_iter``, bitwise), and the loss
    reuses that iteration's products (`gram_relative_error`); solver ``mu`` warm-starts one
    scikit-learn call per iteration (``init="custom"``)."""
    from sklearn.decomposition import non_negative_factorization
    from sklearn.exceptions import ConvergenceWarning

    if cfg.n_components > min(X.shape) and cfg.init in ("nndsvd", "nndsvda", "nndsvdar"):
        raise ParamError(
            f"n_components={cfg.n_components} exceeds min(n_users, n_items)={min(X.shape)}, "
            f"which init={cfg.init!r} needs"
        )
    norm_x = float(np.dot(X.data.astype(np.float64), X.data))
    kwargs = _sklearn_kwargs(cfg)
    l1_W, l1_H, l2_W, l2_H = regularization(cfg, X.shape)
    Xt = X.T  # what scikit-learn multiplies in its H step (a CSC view)
    losses: list[float] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        W, H, _ = non_negative_factorization(X, init=cfg.init, max_iter=1, tol=0.0, **kwargs)
        Ht = np.ascontiguousarray(H.T)
        if cfg.solver == "cd":  # the products of iteration 1's end, as later iterations
            WtW, XtW, HHt = np.dot(W.T, W), Xt @ W, np.dot(Ht.T, Ht)
        for it in range(1, cfg.max_iter + 1):
            if it > 1:
                started = time.perf_counter()
            if cfg.solver == "cd":
                if it > 1:
                    cd_half_step(X, W, Ht, l1_W, l2_W, HHt)
                    WtW = np.dot(W.T, W)
                    XtW = cd_half_step(Xt, Ht, W, l1_H, l2_H, WtW)
                    HHt = np.dot(Ht.T, Ht)  # for the loss and the next W step
                loss = gram_relative_error(norm_x, XtW, Ht, WtW, HHt)
            else:
                if it > 1:
                    W, H, _ = non_negative_factorization(
                        X, W, H, init="custom", max_iter=1, tol=0.0, **kwargs
                    )
                loss = relative_error(X, W, H, norm_x)
            _stop(loss, it, "the data must be finite and non-negative")
            losses.append(loss)
            if callback is not None:
                callback(it, loss, time.perf_counter() - started)
            if cfg.tol > 0 and len(losses) > 1 and losses[-2] - loss < cfg.tol * loss:
                break
    if cfg.solver == "cd":
        H = Ht.T
    return np.ascontiguousarray(W), np.ascontiguousarray(H), losses


def zero_filled_fold_in(
    X: sp.csr_matrix, H: np.ndarray, cfg: ZeroFilledConfig, max_iter: int
) -> np.ndarray:
    """W of new users (rows of ``X``) with ``H`` fixed: scikit-learn's ``update_H=False``
    problem (its regularisation of W for ``X``'s shape), solved exactly by the core's one
    non-negative solve (`workbench.factor.fold_in.nonnegative_fold_in`, ``max_iter``
    coordinate-descent passes at most). A row without interactions gets zero weights."""
    l1_w, _, l2_w, _ = regularization(cfg, X.shape)
    return nonnegative_fold_in(X, H, l2=l2_w, l1=l1_w, n_iter=max_iter)


# -- observed entries ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ObservedConfig:
    n_factors: int = 15
    n_epochs: int = 50
    reg_user: float = 0.06
    reg_item: float = 0.06
    solver: str = "mu"
    sweeps: int = 5
    init_low: float = 0.0
    init_high: float = 1.0
    seed: int = 0


def half_step(
    ratings: sp.csr_matrix, X: np.ndarray, Y: np.ndarray, reg: float, solver: str, sweeps: int
) -> None:
    """Update every row of ``X`` (in place) against the fixed ``Y``."""
    k = _kernels()
    if solver == "mu":
        k.mu_half_step(ratings.indptr, ratings.indices, ratings.data, X, Y, float(reg))
    elif solver == "cd":
        k.nnls_half_step(
            ratings.indptr, ratings.indices, ratings.data, X, Y, float(reg), int(sweeps), 0.0
        )
    else:
        raise ParamError(f"solver must be 'mu' or 'cd', got {solver!r}")


def fit_observed(
    ratings: sp.csr_matrix, cfg: ObservedConfig, callback: IterationCallback | None = None
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """(P users x f, Q items x f, losses) of NMF on the observed entries."""
    rng = np.random.default_rng(cfg.seed)
    n_users, n_items = ratings.shape
    P = rng.uniform(cfg.init_low, cfg.init_high, (n_users, cfg.n_factors)).astype(np.float32)
    Q = rng.uniform(cfg.init_low, cfg.init_high, (n_items, cfg.n_factors)).astype(np.float32)
    ratings_t = ratings.T.tocsr()
    ratings_t.sort_indices()
    losses: list[float] = []
    for it in range(1, cfg.n_epochs + 1):
        started = time.perf_counter()
        half_step(ratings, P, Q, cfg.reg_user, cfg.solver, cfg.sweeps)
        half_step(ratings_t, Q, P, cfg.reg_item, cfg.solver, cfg.sweeps)
        loss = _kernels().observed_sse(
            ratings.indptr, ratings.indices, ratings.data, P, Q
        ) / max(ratings.nnz, 1)
        _stop(loss, it, f"raise reg_user/reg_item (now {cfg.reg_user:g}/{cfg.reg_item:g})")
        losses.append(loss)
        if callback is not None:
            callback(it, loss, time.perf_counter() - started)
    P[np.diff(ratings.indptr) == 0] = 0.0
    Q[np.diff(ratings_t.indptr) == 0] = 0.0
    return P, Q, losses


def observed_fold_in(
    ratings: sp.csr_matrix, Q: np.ndarray, reg: float, sweeps: int = 1000
) -> np.ndarray:
    """Non-negative factors of new users with ``Q`` frozen: the exact solution of ``min
    sum (r - p.q)^2 + n_u reg |p|^2, p >= 0`` (the fixed point that the training half-steps
    approach) by the core's one non-negative solve
    (`workbench.factor.fold_in.nonnegative_solve`). A row without ratings gets zero factors."""
    return nonnegative_solve(ratings, Q, reg=reg * np.diff(ratings.indptr), sweeps=sweeps)
