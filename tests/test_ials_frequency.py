"""`ials`'s frequency-scaled regularisation (Rendle et al. 2022, ``reg_exponent``) and its
initialisation: known answers against dense numpy solves, fold-in consistent with training,
the old defaults reachable, seeded results independent of the thread count."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from workbench_als import solvers
from workbench_als.models import ImplicitALS

from workbench.data import Interactions
from workbench.factor.fold_in import confidence_fold_in
from workbench.testing import ModelContract, low_rank_ratings


class TestImplicitALSPlainRegContract(ModelContract):
    """The defaults before issue 23: one regularisation for every row."""

    def make_model(self, **params: Any) -> ImplicitALS:
        return ImplicitALS(n_factors=6, n_iterations=6, reg=0.1, reg_exponent=0, **params)

    def make_data(self) -> Interactions:
        return low_rank_ratings(kind="implicit")


def _matrix(seed: int = 0, n: int = 12, m: int = 9) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n, m)) < 0.4) * rng.integers(1, 6, (n, m)).astype(np.float64)
    dense[0] = 0.0  # an empty row
    return sp.csr_matrix(dense)


def test_frequency_weights_known_answer() -> None:
    conf = sp.csr_matrix(np.array([[3.0, 0.0, 2.0], [0.0, 0.0, 0.0], [1.5, 1.5, 1.5]]))
    # (sum of (c - 1) over the row's entries + n_other) ** exponent
    np.testing.assert_allclose(
        solvers.frequency_weights(conf, 3, 1.0), [3.0 + 3.0, 3.0, 1.5 + 3.0]
    )
    np.testing.assert_allclose(
        solvers.frequency_weights(conf, 3, 0.5), np.sqrt([6.0, 3.0, 4.5])
    )
    np.testing.assert_array_equal(solvers.frequency_weights(conf, 3, 0.0), [1.0, 1.0, 1.0])


def _dense_half_step(conf: np.ndarray, Y: np.ndarray, regs: np.ndarray) -> np.ndarray:
    """Each row: argmin sum_i c_ui (p_ui - x.y_i)^2 + reg_u |x|^2 over every item (c = 1 and
    p = 0 where nothing is stored), by a dense solve."""
    f = Y.shape[1]
    out = np.zeros((conf.shape[0], f))
    for u in range(conf.shape[0]):
        c = np.where(conf[u] > 0, conf[u], 1.0)
        p = (conf[u] > 0).astype(np.float64)
        if not p.any():
            continue
        a = (Y.T * c) @ Y + regs[u] * np.eye(f)
        out[u] = np.linalg.solve(a, (Y.T * c) @ p)
    return out


@pytest.mark.parametrize(("solver", "steps"), [("cholesky", 1), ("cg", 4)])
def test_half_step_with_row_regularisation_matches_a_dense_solve(solver: str, steps: int) -> None:
    conf = solvers.with_confidence(_matrix(), 2.0, "linear", 1.0)
    Y = np.random.default_rng(1).normal(0, 0.5, (conf.shape[1], 4)).astype(np.float32)
    regs = 0.05 * solvers.frequency_weights(conf, conf.shape[1], 1.0)
    assert np.ptp(regs[1:]) > 0.5  # the rows really get different penalties
    X = np.zeros((conf.shape[0], 4), dtype=np.float32)
    solvers.implicit_half_step(conf, X, Y, 0.05, solver, steps, reg_rows=regs)
    expected = _dense_half_step(conf.toarray(), Y.astype(np.float64), regs)
    np.testing.assert_allclose(X, expected, atol=1e-3)
    plain = _dense_half_step(conf.toarray(), Y.astype(np.float64), np.full(len(regs), 0.05))
    assert np.abs(X - plain).max() > 1e-2  # and the per-row penalty changed the answer


def test_loss_with_row_regularisation_matches_the_dense_sum() -> None:
    conf = solvers.with_confidence(_matrix(2), 1.0, "linear", 1.0)
    rng = np.random.default_rng(3)
    X = rng.normal(0, 0.3, (conf.shape[0], 3)).astype(np.float32)
    Y = rng.normal(0, 0.3, (conf.shape[1], 3)).astype(np.float32)
    ru = 0.1 * solvers.frequency_weights(conf, conf.shape[1], 1.0)
    ri = 0.1 * solvers.frequency_weights(solvers.transpose(conf), conf.shape[0], 1.0)
    dense = conf.toarray()
    c = np.where(dense > 0, dense, 1.0)
    p = (dense > 0).astype(np.float64)
    x64, y64 = X.astype(np.float64), Y.astype(np.float64)
    fit = np.sum(c * (p - x64 @ y64.T) ** 2)
    penalty = ru @ np.sum(x64**2, axis=1) + ri @ np.sum(y64**2, axis=1)
    expected = (fit + penalty) / dense.size
    got = solvers.implicit_loss(conf, X, Y, 0.1, ru, ri)
    assert got == pytest.approx(expected, rel=1e-5)


def test_training_loss_decreases_with_frequency_scaling() -> None:
    model = ImplicitALS(n_factors=5, n_iterations=8, solver="cholesky", reg_exponent=1.0)
    model.fit(low_rank_ratings(kind="implicit", seed=4))
    losses = model.loss_history_
    assert np.all(np.diff(losses) <= 1e-9 * losses[0]), losses  # exact ALS never goes up


@pytest.mark.parametrize("binarize", [None, 4.0])
def test_training_user_folded_in_again_gets_nearly_the_same_vector(binarize) -> None:
    data = low_rank_ratings(seed=6)
    model = ImplicitALS(
        n_factors=5, n_iterations=25, solver="cholesky", reg=0.05, reg_exponent=1.0,
        binarize=binarize,
    ).fit(data)  # fmt: skip
    users = np.array([1, 2, 3, 4])
    folded = model.fold_in(data.subset(np.isin(data.user, users)))
    rows = folded.index_of(data.users.id_of(users))
    again = folded.state["factors"][rows]
    trained = model.user_factors_[users]
    # the last user step used these very items: the same system, up to one item step's drift
    assert np.abs(again - trained).max() < 0.02 * np.abs(trained).max()
    # a fold-in with the plain reg (what the generic fold-in would do) is far off
    values = model.fold_in_values(data.subset(np.isin(data.user, users)).csr()[users])
    plain = confidence_fold_in(values, model.item_factors_, reg=0.05, alpha=1.0)
    assert np.abs(again - trained).max() < 0.2 * np.abs(plain - trained).max()


def test_init_std_none_is_scaled_by_the_dimension() -> None:
    assert ImplicitALS(n_factors=64).initial_std == pytest.approx(0.1 / 8)
    assert ImplicitALS(n_factors=16, init_std=0.01).initial_std == 0.01
    a = ImplicitALS(n_factors=16, n_iterations=1, init_std=None, reg_exponent=0, seed=3)
    b = ImplicitALS(n_factors=16, n_iterations=1, init_std=0.025, reg_exponent=0, seed=3)
    data = low_rank_ratings(kind="implicit", seed=1)
    np.testing.assert_array_equal(a.fit(data).item_factors_, b.fit(data).item_factors_)


def test_old_defaults_stay_reachable() -> None:
    p = ImplicitALS().params
    assert (p.reg, p.reg_exponent, p.init_std) == (0.02, 1.0, None)
    old = ImplicitALS(n_factors=6, n_iterations=3, reg=0.1, reg_exponent=0, init_std=0.01)
    cfg = old._config()
    assert (cfg.reg, cfg.reg_exponent, cfg.init_std) == (0.1, 0.0, 0.01)


def test_frequency_scaled_fit_is_the_same_for_any_thread_count() -> None:
    data = low_rank_ratings(kind="implicit", seed=2)
    a = ImplicitALS(n_factors=8, n_iterations=3, n_threads=1).fit(data)
    b = ImplicitALS(n_factors=8, n_iterations=3).fit(data)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
