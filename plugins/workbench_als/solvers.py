"""Alternating least squares as plain functions on sparse matrices (no model objects).

- `fit_implicit`: confidence-weighted ALS (Hu, Koren and Volinsky 2008) on a users x items
  CSR matrix of raw values: confidence ``c = 1 + alpha r`` (``linear``) or ``1 + alpha
  log(1 + r / eps)`` (``log``), preference 1 for every stored entry, 0 elsewhere (confidence
  1). Loss per iteration: ``(sum_ui c_ui (p_ui - x_u.y_i)^2 + sum_u reg_u |x_u|^2 + sum_i
  reg_i |y_i|^2) / (n_users n_items)``, ``reg_u = reg`` or, frequency-scaled (Rendle et al.
  2022, ``reg_exponent`` nu > 0), ``reg (sum_i (c_ui - 1) + n_items)^nu``: the row's total
  weight in the loss (their ``(|I_u| + alpha_0 |I|)^nu`` with ``alpha_0 = 1 / alpha``, up to
  a constant factor), the same for items.
- `fit_explicit`: biased MF by ALS with weighted-lambda regularisation (Zhou et al. 2008):
  each row's penalty is ``n_u (reg |x_u|^2 + reg_bias b_u^2)``; more generally ``(n_u^e +
  offset) (...)`` with ``reg_exponent`` e (1: weighted lambda, 0: plain ridge) and
  ``reg_offset``. Loss: training MSE.
- `fit_explicit_vb`: the same model by variational Bayes (Lim and Teh 2007): every user
  and item keeps a Gaussian posterior over ``[factors, bias]`` (mean and covariance); each
  half-step is still one closed-form solve per row, with the other side's covariances added
  to its normal equations, so rows with few or uncertain neighbours are shrunk more. The
  priors (a mean and a variance per dimension, per side) and the noise precision are
  re-estimated every iteration (empirical Bayes), so there is no ``reg`` to tune.
- `explicit_fold_in` / `explicit_vb_fold_in`: the exact user
  half-step against frozen items (for implicit ALS the same solve as ``implicit``'s
  ``recalculate_user``).

Every half-step is one numba call over all rows (see `workbench_als._kernels`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from workbench.errors import ParamError
from workbench.factor.fold_in import confidence as core_confidence
from workbench.model import DivergenceGuard

#: ``callback(iteration, loss, seconds)`` after every iteration.
IterationCallback = Callable[[int, float, float], None]


def _kernels():
    from workbench_als import _kernels

    return _kernels


def clean_csr(matrix: sp.spmatrix, *, binarize: float | None = None) -> sp.csr_matrix:
    """float32 CSR with sorted indices and no stored zeros; with ``binarize`` set, entries
    below it are dropped and the others become 1."""
    csr = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    csr.sum_duplicates()
    if binarize is not None:
        csr.data = np.where(csr.data >= binarize, 1.0, 0.0).astype(np.float32)
    csr.eliminate_zeros()
    csr.sort_indices()
    return csr


def as_csr(matrix: sp.spmatrix) -> sp.csr_matrix:
    """float32 CSR with sorted indices, duplicates summed, stored zeros kept (ratings)."""
    csr = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    csr.sum_duplicates()
    csr.sort_indices()
    return csr


def confidence(values: np.ndarray, alpha: float, kind: str = "linear", eps: float = 1.0):
    """Confidence of observed entries, in float32 (`workbench.factor.fold_in.confidence`)."""
    return core_confidence(values, alpha, kind, eps, dtype=np.float32)  # type: ignore[arg-type]


def with_confidence(csr: sp.csr_matrix, alpha: float, kind: str, eps: float) -> sp.csr_matrix:
    """The same sparsity pattern with confidences as values."""
    if csr.nnz and csr.data.min() < 0:
        raise ParamError("implicit ALS needs non-negative values (confidence 1 + alpha r)")
    out = csr.copy()
    out.data = confidence(csr.data, alpha, kind, eps)
    return out


def transpose(csr: sp.csr_matrix) -> sp.csr_matrix:
    """The transposed matrix as CSR (items x users), indices sorted."""
    out = csr.T.tocsr()
    out.sort_indices()
    return out


def _finite_or_stop(loss: float, iteration: int, hint: str) -> None:
    DivergenceGuard(hint, unit="iteration").check_finite(loss, iteration)


# -- implicit ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImplicitConfig:
    n_factors: int = 64
    n_iterations: int = 15
    reg: float = 0.1
    alpha: float = 1.0
    confidence: str = "linear"
    eps: float = 1.0
    solver: str = "cg"
    cg_steps: int = 3
    init_std: float = 0.01
    seed: int = 0
    compute_loss: bool = True
    reg_exponent: float = 0.0


def frequency_weights(conf: sp.csr_matrix, n_other: int, exponent: float) -> np.ndarray:
    """Each row's regularisation weight ``(sum (c - 1) over its entries + n_other)^exponent``
    (float64): its total weight in the implicit loss, to the power ``exponent`` (Rendle et
    al. 2022's frequency scaling; exponent 0: 1 for every row)."""
    rows = np.repeat(np.arange(conf.shape[0]), np.diff(conf.indptr))
    extra = np.bincount(
        rows, weights=conf.data.astype(np.float64) - 1.0, minlength=conf.shape[0]
    )
    return (extra + float(n_other)) ** float(exponent)


def implicit_half_step(
    conf: sp.csr_matrix,
    X: np.ndarray,
    Y: np.ndarray,
    reg: float,
    solver: str,
    cg_steps: int,
    reg_rows: np.ndarray | None = None,
) -> None:
    """Update every row of ``X`` (in place) against the fixed ``Y``; ``reg_rows``: one
    regularisation per row instead of ``reg`` (frequency-scaled)."""
    k = _kernels()
    gram = Y.T @ Y
    if solver == "cg":
        rows = np.full(X.shape[0], reg, dtype=np.float32) if reg_rows is None else reg_rows
        k.implicit_cg_rows(
            conf.indptr, conf.indices, conf.data, X, Y, gram.astype(np.float32),
            rows.astype(np.float32), int(cg_steps),
        )
    elif solver == "cholesky":
        n, f = X.shape
        k.weighted_cholesky(
            conf.indptr, conf.indices, conf.data - np.float32(1.0), conf.data, Y,
            gram.astype(np.float64),
            np.full(n, reg, dtype=np.float64) if reg_rows is None else reg_rows,
            np.ones(f, dtype=np.float64), X,
        )
    else:
        raise ParamError(f"solver must be 'cg' or 'cholesky', got {solver!r}")


def implicit_loss(
    conf: sp.csr_matrix,
    X: np.ndarray,
    Y: np.ndarray,
    reg: float,
    reg_users: np.ndarray | None = None,
    reg_items: np.ndarray | None = None,
) -> float:
    """The implicit ALS loss (see the module docs), computed without a dense matrix;
    ``reg_users``/``reg_items``: per-row regularisation (frequency-scaled) instead of ``reg``."""
    observed = _kernels().implicit_loss(conf.indptr, conf.indices, conf.data, X, Y)
    x64, y64 = X.astype(np.float64), Y.astype(np.float64)
    everything = float(np.sum((x64.T @ x64) * (y64.T @ y64)))
    if reg_users is None or reg_items is None:
        penalty = reg * (float(np.sum(x64 * x64)) + float(np.sum(y64 * y64)))
    else:
        penalty = float(reg_users @ np.sum(x64 * x64, axis=1)) + float(
            reg_items @ np.sum(y64 * y64, axis=1)
        )
    return (observed + everything + penalty) / (X.shape[0] * Y.shape[0])


def fit_implicit(
    conf: sp.csr_matrix,
    cfg: ImplicitConfig,
    callback: IterationCallback | None = None,
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """(user factors, item factors, losses) of confidence-weighted ALS on ``conf``
    (users x items, confidences as values; see `with_confidence`)."""
    rng = np.random.default_rng(cfg.seed)
    n_users, n_items = conf.shape
    X = rng.normal(0.0, cfg.init_std, (n_users, cfg.n_factors)).astype(np.float32)
    Y = rng.normal(0.0, cfg.init_std, (n_items, cfg.n_factors)).astype(np.float32)
    conf_t = transpose(conf)
    reg_users = reg_items = None
    if cfg.reg_exponent:
        reg_users = cfg.reg * frequency_weights(conf, n_items, cfg.reg_exponent)
        reg_items = cfg.reg * frequency_weights(conf_t, n_users, cfg.reg_exponent)
    losses: list[float] = []
    for it in range(1, cfg.n_iterations + 1):
        started = time.perf_counter()
        implicit_half_step(conf, X, Y, cfg.reg, cfg.solver, cfg.cg_steps, reg_users)
        implicit_half_step(conf_t, Y, X, cfg.reg, cfg.solver, cfg.cg_steps, reg_items)
        hint = f"lower alpha={cfg.alpha:g} or raise reg={cfg.reg:g}"
        if cfg.compute_loss:
            loss = implicit_loss(conf, X, Y, cfg.reg, reg_users, reg_items)
            _finite_or_stop(loss, it, hint)
        else:  # still stop on NaN: a cheap check of the factors
            loss = math.nan
            _finite_or_stop(float(X.sum(dtype=np.float64) + Y.sum(dtype=np.float64)), it, hint)
        losses.append(loss)
        if callback is not None:
            callback(it, loss, time.perf_counter() - started)
    return X, Y, losses


# -- explicit ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExplicitConfig:
    n_factors: int = 50
    n_iterations: int = 15
    reg: float = 0.12
    reg_item: float | None = None
    reg_bias: float = 0.05
    reg_exponent: float = 1.0
    reg_offset: float = 0.0
    biased: bool = True
    solver: str = "cg"
    cg_steps: int = 3
    init_std: float = 0.1
    seed: int = 0
    method: str = "map"
    vb_user_covariance: str = "full"


def _with_bias_column(Y: np.ndarray) -> np.ndarray:
    """``[Y, 1]`` (the other side's factors plus a constant column for this side's bias)."""
    f = Y.shape[1]
    out = np.empty((Y.shape[0], f + 1), dtype=np.float32)
    out[:, :f] = Y
    out[:, f] = 1.0
    return out


def penalty_weights(counts: np.ndarray, exponent: float, offset: float) -> np.ndarray:
    """Each row's regularisation weight ``n^exponent + offset`` (float64): ``n`` itself for
    weighted lambda (exponent 1, offset 0, Zhou et al. 2008), 1 for plain ridge (exponent
    0); in between, rows with few ratings are shrunk relatively more."""
    weights = np.asarray(counts, dtype=np.float64)
    if exponent != 1.0:
        weights = weights**exponent
    if offset:
        weights = weights + offset
    return weights


def explicit_half_step(
    ratings: sp.csr_matrix,
    mu: float,
    other_bias: np.ndarray,
    Y: np.ndarray,
    reg: float,
    reg_bias: float,
    biased: bool,
    *,
    solver: str = "cholesky",
    cg_steps: int = 3,
    start: np.ndarray | None = None,
    reg_exponent: float = 1.0,
    reg_offset: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(factors, biases) of every row of ``ratings`` with the other side (``Y``,
    ``other_bias``) fixed: ridge regression per row with penalty ``w_u (reg |x|^2 + reg_bias
    b^2)``, ``w_u = n_u^reg_exponent + reg_offset`` (``n_u`` ratings; the defaults give
    weighted lambda), solved exactly (``cholesky``) or by ``cg_steps`` conjugate-gradient
    steps from ``start`` (``cg``; rows x (f + 1) with the bias last when ``biased``)."""
    n, f = ratings.shape[0], Y.shape[1]
    targets = (ratings.data - np.float32(mu) - other_bias[ratings.indices]).astype(np.float32)
    counts = penalty_weights(np.diff(ratings.indptr), reg_exponent, reg_offset)
    Yb = _with_bias_column(Y) if biased else np.ascontiguousarray(Y, dtype=np.float32)
    width = Yb.shape[1]
    diag = np.full(width, reg, dtype=np.float64)
    if biased:
        diag[f] = reg_bias
    k = _kernels()
    if solver == "cg":
        out = (
            np.zeros((n, width), dtype=np.float32)
            if start is None
            else np.ascontiguousarray(start, dtype=np.float32)
        )
        k.ridge_cg(
            ratings.indptr, ratings.indices, targets, Yb, counts.astype(np.float32),
            diag.astype(np.float32), out, int(cg_steps),
        )
    elif solver == "cholesky":
        out = np.zeros((n, width), dtype=np.float32)
        k.weighted_cholesky(
            ratings.indptr, ratings.indices, np.ones(ratings.nnz, dtype=np.float32), targets,
            Yb, np.zeros((width, width), dtype=np.float32), counts, diag, out,
        )
    else:
        raise ParamError(f"solver must be 'cholesky' or 'cg', got {solver!r}")
    if biased:
        return np.ascontiguousarray(out[:, :f]), np.ascontiguousarray(out[:, f])
    return out, np.zeros(n, dtype=np.float32)


def explicit_sse(
    ratings: sp.csr_matrix,
    mu: float,
    X: np.ndarray,
    bx: np.ndarray,
    Y: np.ndarray,
    by: np.ndarray,
) -> float:
    """Sum of squared training errors."""
    return _kernels().explicit_sse(
        ratings.indptr, ratings.indices, ratings.data, X, Y, bx, by, np.float32(mu)
    )


def fit_explicit(
    ratings: sp.csr_matrix,
    cfg: ExplicitConfig,
    callback: IterationCallback | None = None,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """(mu, user factors, user bias, item factors, item bias, losses) of biased ALS."""
    rng = np.random.default_rng(cfg.seed)
    n_users, n_items = ratings.shape
    mu = float(ratings.data.mean(dtype=np.float64)) if cfg.biased else 0.0
    Y = rng.normal(0.0, cfg.init_std, (n_items, cfg.n_factors)).astype(np.float32)
    by = np.zeros(n_items, dtype=np.float32)
    bx = np.zeros(n_users, dtype=np.float32)
    ratings_t = transpose(ratings)
    reg_item = cfg.reg if cfg.reg_item is None else cfg.reg_item
    losses: list[float] = []
    X = np.zeros((n_users, cfg.n_factors), dtype=np.float32)
    def packed(F: np.ndarray, b: np.ndarray) -> np.ndarray | None:
        if cfg.solver != "cg":
            return None
        return np.column_stack([F, b]) if cfg.biased else F

    opts = {
        "solver": cfg.solver, "cg_steps": cfg.cg_steps,
        "reg_exponent": cfg.reg_exponent, "reg_offset": cfg.reg_offset,
    }  # fmt: skip
    for it in range(1, cfg.n_iterations + 1):
        started = time.perf_counter()
        X, bx = explicit_half_step(
            ratings, mu, by, Y, cfg.reg, cfg.reg_bias, cfg.biased, start=packed(X, bx), **opts
        )
        Y, by = explicit_half_step(
            ratings_t, mu, bx, X, reg_item, cfg.reg_bias, cfg.biased, start=packed(Y, by),
            **opts,
        )
        loss = explicit_sse(ratings, mu, X, bx, Y, by) / max(ratings.nnz, 1)
        _finite_or_stop(loss, it, f"raise reg={cfg.reg:g} (ratings must be finite)")
        losses.append(loss)
        if callback is not None:
            callback(it, loss, time.perf_counter() - started)
    return mu, X, bx, Y, by, losses


def explicit_fold_in(
    ratings: sp.csr_matrix,
    mu: float,
    item_bias: np.ndarray,
    Y: np.ndarray,
    reg: float,
    reg_bias: float,
    biased: bool,
    *,
    reg_exponent: float = 1.0,
    reg_offset: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(factors, biases) of new users: the user half-step against frozen items."""
    return explicit_half_step(
        as_csr(ratings),
        mu, item_bias.astype(np.float32), np.ascontiguousarray(Y, dtype=np.float32),
        reg, reg_bias, biased, reg_exponent=reg_exponent, reg_offset=reg_offset,
    )


# -- explicit, variational Bayes ---------------------------------------------------------------
@dataclass(frozen=True)
class VBPosterior:
    """What the user half-step of fold-in needs from a `fit_explicit_vb` run: the item
    posteriors' covariances over ``[factors, bias]`` (packed lower triangles, float32), the
    user prior (mean and precision per dimension, the bias last) and the noise precision."""

    item_cov: np.ndarray
    user_prior_mean: np.ndarray
    user_prior_precision: np.ndarray
    noise_precision: float


def packed_size(g: int) -> int:
    """Entries of a packed lower triangle of a g x g matrix."""
    return g * (g + 1) // 2


def packed_diagonal(cov: np.ndarray, g: int) -> np.ndarray:
    """The diagonals (rows x g) of packed lower triangles (rows x g(g+1)/2)."""
    a = np.arange(g)
    return cov[:, a * (a + 1) // 2 + a]


def _prior_update(
    mean: np.ndarray, cov: np.ndarray, full: bool, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Empirical-Bayes prior of one side (mean, precision per dimension): the mean and the
    expected spread of the posteriors of the rows with ratings."""
    g = mean.shape[1]
    if not rows.any():
        return np.zeros(g), np.ones(g)
    m = mean[rows]
    var_post = packed_diagonal(cov[rows], g) if full else cov[rows]
    centre = m.mean(axis=0)
    var = ((m - centre) ** 2).mean(axis=0) + var_post.astype(np.float64).mean(axis=0)
    return centre, 1.0 / np.maximum(var, 1e-10)


def vb_half_step(
    ratings: sp.csr_matrix,
    targets: np.ndarray,
    other_mean: np.ndarray,
    other_cov: np.ndarray,
    other_full: bool,
    prior_mean: np.ndarray,
    prior_precision: np.ndarray,
    tau: float,
    *,
    full: bool = True,
    out: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(means rows x g, covariances rows x g(g+1)/2 packed or rows x g diagonal, expected
    squared error per row) of the variational update of every row of ``ratings``
    (`workbench_als._kernels.vb_half_step`; ``targets``: the ratings minus the global mean,
    aligned with ``ratings.data``). ``out``: the (means, covariances) arrays to overwrite
    (this side's previous posterior: every row is rewritten, no second copy is held)."""
    n, g = ratings.shape[0], other_mean.shape[1]
    if out is None:
        mean = np.zeros((n, g), dtype=np.float64)
        cov = np.zeros((n, packed_size(g) if full else g), dtype=np.float32)
    else:
        mean, cov = out
    sse = np.zeros(n, dtype=np.float64)
    _kernels().vb_half_step(
        ratings.indptr, ratings.indices, targets, other_mean, other_cov, bool(other_full),
        np.asarray(prior_precision, np.float64), np.asarray(prior_mean, np.float64),
        float(tau), mean, cov, bool(full), sse,
    )  # fmt: skip
    return mean, cov, sse


def fit_explicit_vb(
    ratings: sp.csr_matrix,
    cfg: ExplicitConfig,
    callback: IterationCallback | None = None,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[float], VBPosterior]:
    """(mu, user factors, user bias, item factors, item bias, losses, posterior) of biased
    MF by variational Bayes (Lim and Teh 2007): posterior means as the factors, losses the
    training MSE of those means. Priors start at N(0, 1) per dimension and the noise at the
    ratings' variance; all three are re-estimated every iteration. Item covariances are
    kept in full; user covariances in full or (``vb_user_covariance="diagonal"``, for many
    users) as their diagonal only, which is all the item half-step then uses."""
    if cfg.vb_user_covariance not in ("full", "diagonal"):
        raise ParamError(
            f"vb_user_covariance must be 'full' or 'diagonal', got {cfg.vb_user_covariance!r}"
        )
    rng = np.random.default_rng(cfg.seed)
    n_users, n_items = ratings.shape
    f, g = cfg.n_factors, cfg.n_factors + 1
    mu = float(ratings.data.mean(dtype=np.float64)) if ratings.nnz else 0.0
    user_full = cfg.vb_user_covariance == "full"
    item_mean = np.zeros((n_items, g), dtype=np.float64)
    item_mean[:, :f] = rng.normal(0.0, cfg.init_std, (n_items, f)).astype(np.float32)
    item_cov = np.zeros((n_items, packed_size(g)), dtype=np.float32)
    user_mean = np.zeros((n_users, g), dtype=np.float64)
    user_cov = np.zeros((n_users, packed_size(g) if user_full else g), dtype=np.float32)
    ratings_t = transpose(ratings)
    targets = (ratings.data - np.float32(mu)).astype(np.float32)
    targets_t = (ratings_t.data - np.float32(mu)).astype(np.float32)
    rated_users = np.diff(ratings.indptr) > 0
    rated_items = np.diff(ratings_t.indptr) > 0
    variance = float(ratings.data.var(dtype=np.float64)) if ratings.nnz else 1.0
    tau = 1.0 / max(variance, 1e-3)
    user_prior = (np.zeros(g), np.ones(g))
    item_prior = (np.zeros(g), np.ones(g))
    losses: list[float] = []
    X = bx = Y = by = None
    for it in range(1, cfg.n_iterations + 1):
        started = time.perf_counter()
        vb_half_step(
            ratings, targets, item_mean, item_cov, True, *user_prior, tau, full=user_full,
            out=(user_mean, user_cov),
        )  # fmt: skip
        user_prior = _prior_update(user_mean, user_cov, user_full, rated_users)
        _, _, sse = vb_half_step(
            ratings_t, targets_t, user_mean, user_cov, user_full, *item_prior, tau, full=True,
            out=(item_mean, item_cov),
        )  # fmt: skip
        item_prior = _prior_update(item_mean, item_cov, True, rated_items)
        expected = float(sse.sum())
        if ratings.nnz and expected > 0:
            tau = ratings.nnz / expected
        X = np.ascontiguousarray(user_mean[:, :f], dtype=np.float32)
        bx = np.ascontiguousarray(user_mean[:, f], dtype=np.float32)
        Y = np.ascontiguousarray(item_mean[:, :f], dtype=np.float32)
        by = np.ascontiguousarray(item_mean[:, f], dtype=np.float32)
        loss = explicit_sse(ratings, mu, X, bx, Y, by) / max(ratings.nnz, 1)
        _finite_or_stop(loss, it, "the ratings must be finite")
        losses.append(loss)
        if callback is not None:
            callback(it, loss, time.perf_counter() - started)
    posterior = VBPosterior(
        item_cov=item_cov,
        user_prior_mean=np.asarray(user_prior[0], np.float64),
        user_prior_precision=np.asarray(user_prior[1], np.float64),
        noise_precision=float(tau),
    )
    return mu, X, bx, Y, by, losses, posterior


def explicit_vb_fold_in(
    ratings: sp.csr_matrix,
    mu: float,
    item_factors: np.ndarray,
    item_bias: np.ndarray,
    posterior: VBPosterior,
) -> tuple[np.ndarray, np.ndarray]:
    """(factors, biases) of new users: the variational user half-step against the frozen
    item posteriors (posterior means). A user without ratings gets zeros (a cold user, as
    in training)."""
    csr = as_csr(ratings)
    f = item_factors.shape[1]
    other_mean = np.empty((item_factors.shape[0], f + 1), dtype=np.float64)
    other_mean[:, :f] = item_factors
    other_mean[:, f] = item_bias
    targets = (csr.data - np.float32(mu)).astype(np.float32)
    mean, _, _ = vb_half_step(
        csr, targets, other_mean, np.ascontiguousarray(posterior.item_cov, np.float32), True,
        posterior.user_prior_mean, posterior.user_prior_precision, posterior.noise_precision,
        full=False,
    )  # fmt: skip
    mean[np.diff(csr.indptr) == 0] = 0.0
    return (
        np.ascontiguousarray(mean[:, :f], dtype=np.float32),
        np.ascontiguousarray(mean[:, f], dtype=np.float32),
    )
