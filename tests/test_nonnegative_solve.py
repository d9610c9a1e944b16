"""The one non-negative fold-in solve (`workbench.factor.fold_in.nonnegative_solve`) against
an independent reference: scipy's active-set NNLS on the same quadratic, written as least
squares through a Cholesky factor."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import nnls

from workbench.errors import ParamError
from workbench.factor.fold_in import nonnegative_fold_in, nonnegative_solve


def _history(rng, n=12, m=30, density=0.3):
    dense = (rng.random((n, m)) < density) * rng.integers(1, 6, (n, m))
    dense[3] = 0  # a user without entries gets zeros
    return sp.csr_matrix(dense.astype(np.float64))


def _reference(A, b):
    """argmin ½xᵀAx - bᵀx, x >= 0 as NNLS: ||Lᵀx - L⁻¹b||² with A = LLᵀ."""
    L = np.linalg.cholesky(A)
    return nnls(L.T, np.linalg.solve(L, b), maxiter=1000)[0]


@pytest.mark.parametrize("implicit", [False, True])
def test_each_row_is_scipys_nnls_solution(implicit):
    rng = np.random.default_rng(0)
    X = _history(rng)
    Y = rng.standard_normal((X.shape[1], 5))
    n_u = np.diff(X.indptr)
    reg = 0.1 * n_u
    gram = Y.T @ Y if implicit else None
    weights = 2.0 * X.data if implicit else None  # c - 1 with alpha = 2
    targets = (1 + 2.0 * X.data) if implicit else X.data - 3.5
    got = nonnegative_solve(X, Y, reg=reg, gram=gram, weights=weights, targets=targets)
    w = np.ones(X.nnz) if weights is None else weights
    for u in range(X.shape[0]):
        lo, hi = X.indptr[u], X.indptr[u + 1]
        if lo == hi:
            assert not got[u].any()
            continue
        yu = Y[X.indices[lo:hi]]
        A = (gram if implicit else 0) + (yu.T * w[lo:hi]) @ yu + reg[u] * np.eye(5)
        want = _reference(A, yu.T @ targets[lo:hi])
        np.testing.assert_allclose(got[u], want, rtol=1e-5, atol=1e-6)
        assert (got[u] >= 0).all()


def test_the_zero_filled_form_is_the_l1_l2_problem():
    rng = np.random.default_rng(1)
    X = _history(rng)
    H = np.abs(rng.standard_normal((4, X.shape[1])))
    l2, l1 = 0.3, 0.05
    got = nonnegative_fold_in(X, H, l2=l2, l1=l1)
    for u in range(X.shape[0]):
        if X.indptr[u] == X.indptr[u + 1]:
            assert not got[u].any()
            continue
        A = H @ H.T + l2 * np.eye(4)
        want = _reference(A, H @ X[u].toarray().ravel() - l1)
        np.testing.assert_allclose(got[u], want, rtol=1e-5, atol=1e-6)


def test_bad_inputs_are_one_line_errors():
    X = sp.csr_matrix(np.eye(3))
    with pytest.raises(ParamError, match="sweeps must be >= 1"):
        nonnegative_solve(X, np.ones((3, 2)), sweeps=0)
    with pytest.raises(ParamError, match="one value per entry"):
        nonnegative_solve(X, np.ones((3, 2)), weights=np.ones(5))
