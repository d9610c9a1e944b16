"""`svdpp n_threads>1`: the ratings in sgd's grid, each user's implicit part held for the
epoch and the ``y_j`` steps taken at its end. Checked against an independent numpy epoch,
for the same result on any number of threads, and for fold-in (the one-thread loop)."""

from __future__ import annotations

import numba
import numpy as np
from test_svdpp import assert_fitted_as, initial_state
from workbench_sgd import _kernels as K
from workbench_sgd import _svdpp_kernels as S
from workbench_sgd.base import Ratings
from workbench_sgd.grid import BLOCK_SIZE, grid_ratings
from workbench_sgd.svdpp import SVDpp

from workbench.testing import ModelContract, low_rank_ratings


class TestSVDppGridContract(ModelContract):
    def make_model(self, **params) -> SVDpp:
        return SVDpp(n_factors=8, n_epochs=30, n_threads=2, **params)


KW = dict(n_factors=5, lr=0.02, reg=0.03, reg_bias=0.01, reg_implicit=0.04, init_std=0.2)


def test_one_grid_epoch_matches_an_independent_numpy_reference() -> None:
    data = low_rank_ratings(n_users=40, n_items=30, density=0.4, seed=5)
    model = SVDpp(n_epochs=1, seed=9, n_threads=2, **KW).fit(data)

    s, rng = initial_state(data, n_factors=5, init_std=0.2, seed=9)
    seed = int(rng.integers(2**63 - 1))  # the fit's next draw: the epoch's seed
    maker = SVDpp(seed=9, n_threads=2)
    grid = grid_ratings(maker, maker._by_user(Ratings.of(data)), 2, 9)
    pos, items, values = K.grid_shuffle(
        grid.starts, grid.n_groups, BLOCK_SIZE, seed, grid.users, grid.items, grid.values
    )
    users, items = grid.user_ids[pos], grid.item_ids[items]  # the epoch's order, as given
    rated = [np.sort(data.item[data.user == u]) for u in range(data.n_users)]
    norm = np.array([1 / np.sqrt(len(r)) for r in rated])
    z = np.stack([norm[u] * s["y"][rated[u]].sum(axis=0) for u in range(data.n_users)])
    g = np.zeros_like(z)
    mu = float(np.mean(data.value, dtype=np.float64))
    lr, reg, reg_bias, reg_implicit = 0.02, 0.03, 0.01, 0.04
    for u, i, v in zip(users, items, values.astype(np.float64), strict=True):
        e = s["p"][u] + z[u]
        err = v - (mu + s["bu"][u] + s["bi"][i] + e @ s["q"][i])
        s["bu"][u] += lr * (err - reg_bias * s["bu"][u])
        s["bi"][i] += lr * (err - reg_bias * s["bi"][i])
        old_q = s["q"][i].copy()
        s["p"][u] += lr * (err * old_q - reg * s["p"][u])
        s["q"][i] += lr * (err * e - reg * old_q)
        g[u] += err * old_q
    for j in range(data.n_items):  # each y_j: its users' steps, in user order
        for u in np.flatnonzero([j in r for r in rated]):
            s["y"][j] += lr * (norm[u] * g[u] - reg_implicit * s["y"][j])

    assert_fitted_as(model, s, rated)


def test_grid_fits_repeat_exactly_on_any_number_of_threads() -> None:
    data = low_rank_ratings(n_users=60, n_items=40, density=0.3, seed=2)

    def fit(**params) -> np.ndarray:
        m = SVDpp(**{**KW, "n_epochs": 3, "seed": 4, **params}).fit(data)
        return np.concatenate([m.user_factors_.ravel(), m.item_factors_.ravel(),
                               m.implicit_.ravel(), m.user_bias_, m.item_bias_])  # fmt: skip

    two = fit(n_threads=2)
    np.testing.assert_array_equal(fit(n_threads=2), two)
    np.testing.assert_array_equal(fit(n_threads=4), two)  # one 8 x 8 grid for 2 to 4
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)  # the same parallel kernels on one thread
        np.testing.assert_array_equal(fit(n_threads=2), two)
    finally:
        numba.set_num_threads(before)
    assert not np.array_equal(fit(n_threads=1), two)


def test_fold_in_runs_the_one_thread_loop() -> None:
    data = low_rank_ratings(n_users=50, n_items=30, density=0.4, seed=3)
    model = SVDpp(**{**KW, "n_epochs": 4, "n_threads": 2}).fit(data.subset(data.user != 0))
    history = data.subset(data.user == 0)
    threaded = model.fold_in(history).state["factors"]
    model.set_params(n_threads=1)
    np.testing.assert_array_equal(model.fold_in(history).state["factors"], threaded)


def test_implicit_sums_and_steps_are_the_serial_ones_for_every_user() -> None:
    rng = np.random.default_rng(0)
    data = low_rank_ratings(n_users=20, n_items=15, density=0.5, seed=1)
    model = SVDpp(seed=1)
    indptr, indices = model._fold_in_context(data.csr())
    y = rng.normal(size=(15, 4)).astype(np.float32)
    z = np.empty((20, 4), dtype=np.float32)
    S.implicit_sums(indptr, indices, y, z)
    for u in range(20):
        out = np.empty(4, dtype=np.float32)
        S.implicit_sum(u, indptr, indices, y, out)
        np.testing.assert_array_equal(z[u], out)
