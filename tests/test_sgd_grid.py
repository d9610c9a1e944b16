"""`sgd n_threads>1`: LIBMF-style block scheduling (`grid_order` once, then `mf_epoch_grid`
shuffling each cell on its thread). Cells of one round share no user and no item, so running
them on threads must give exactly the serial `mf_epoch` over the same order
(`grid_shuffle`); fits repeat bit for bit and do not depend on the thread count (2 to 4
threads share one grid)."""

from __future__ import annotations

import numba
import numpy as np
from workbench_sgd import _kernels as K
from workbench_sgd.biased import BiasedMF

from workbench.data import Interactions
from workbench.testing import ModelContract


class TestBiasedMFGridContract(ModelContract):
    def make_model(self, **params) -> BiasedMF:
        return BiasedMF(n_factors=8, n_epochs=30, n_threads=2, **params)


def ratings(seed: int, n_users: int = 90, n_items: int = 70, n: int = 3000):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n).astype(np.int32)
    items = rng.integers(0, n_items, n).astype(np.int32)
    return users, items, rng.integers(1, 6, n).astype(np.float32)


def test_grid_order_is_a_stable_regrouping_into_independent_rounds():
    users, items, _ = ratings(0)
    g = 4
    ug = np.random.default_rng(1).permutation(90) % g
    ig = np.random.default_rng(2).permutation(70) % g
    order, starts = K.grid_order(users, items, ug, ig, g)
    assert sorted(order.tolist()) == list(range(len(users)))
    assert starts[0] == 0 and starts[-1] == len(users)
    for r in range(g):
        for a in range(g):
            part = order[starts[r * g + a] : starts[r * g + a + 1]]
            assert (np.diff(part) > 0).all()  # the given order kept
            assert (ug[users[part]] == a).all() and (ig[items[part]] == (a + r) % g).all()


def grid(seed: int, g: int = 8):
    """Ratings sorted by user, then regrouped into the cells of a g x g grid."""
    users, items, values = ratings(seed)
    by_user = np.argsort(users, kind="stable")
    users, items, values = users[by_user], items[by_user], values[by_user]
    ug = np.random.default_rng(seed + 1).permutation(90) % g
    ig = np.random.default_rng(seed + 2).permutation(70) % g
    order, starts = K.grid_order(users, items, ug, ig, g)
    return users[order], items[order], values[order], starts


def test_grid_shuffle_is_a_blocked_permutation_within_each_cell():
    users, items, values, starts = grid(3)
    pos = np.arange(len(users), dtype=np.int32)
    bs = 16
    got = K.grid_shuffle(starts, 8, bs, 11, pos, items, values)[0]
    assert not np.array_equal(got, pos)
    for c in range(64):
        lo, hi = starts[c], starts[c + 1]
        part = got[lo:hi]
        assert sorted(part.tolist()) == list(range(lo, hi))  # a permutation of the cell
        runs = (part - lo) // bs  # each run of bs consecutive ratings is visited whole
        changes = np.flatnonzero(np.diff(runs)) + 1
        assert len(np.unique(runs)) == len(changes) + 1
    assert np.array_equal(K.grid_shuffle(starts, 8, bs, 11, pos, items, values)[0], got)
    assert not np.array_equal(K.grid_shuffle(starts, 8, bs, 12, pos, items, values)[0], got)


def test_grid_epoch_on_threads_equals_the_serial_epoch():
    users, items, values, starts = grid(3)
    g, bs, seed = 8, 16, 5
    u, i, v = K.grid_shuffle(starts, g, bs, seed, users, items, values)
    init = np.random.default_rng(6)
    p0 = init.normal(0, 0.1, (90, 16)).astype(np.float32)
    q0 = init.normal(0, 0.1, (70, 16)).astype(np.float32)
    args = dict(mu=np.float32(3.0), lr=np.float32(0.01), reg=np.float32(0.02),
                reg_bias=np.float32(0.02), biased=True, update_items=True)  # fmt: skip
    ref = [np.zeros(90, np.float32), np.zeros(70, np.float32), p0.copy(), q0.copy()]
    sse_ref = K.mf_epoch(u, i, v, bu=ref[0], bi=ref[1], p=ref[2], q=ref[3], **args)
    work = [np.empty_like(users), np.empty_like(items), np.empty_like(values)]
    before = numba.get_num_threads()
    try:
        for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            numba.set_num_threads(threads)
            got = [np.zeros(90, np.float32), np.zeros(70, np.float32), p0.copy(), q0.copy()]
            sse = K.mf_epoch_grid(users, items, values, starts, g, bs, seed, *work, bu=got[0],
                                  bi=got[1], p=got[2], q=got[3], **args)  # fmt: skip
            for a, b in zip(got, ref, strict=True):
                np.testing.assert_array_equal(a, b)
            assert abs(sse - sse_ref) <= 1e-9 * sse_ref
    finally:
        numba.set_num_threads(before)


def test_the_grid_numbers_each_group_contiguously_and_changes_no_result():
    """`_grid` renumbers users and items group by group (rows two threads update at once
    are never neighbours in memory); an epoch on the packed copies writes back exactly what
    the kernel gives on the original numbering, and leaves rows without ratings alone."""
    from workbench_sgd.base import Ratings
    from workbench_sgd.grid import grid_ratings

    users, items, values = ratings(8, n_users=120, n_items=80)
    users[users == 7] = 8  # user 7 (and item 5) have no ratings
    items[items == 5] = 6
    model = BiasedMF(n_threads=2, seed=4)
    grid = grid_ratings(model, model._by_user(Ratings(users, items, values)), 2, 4)
    g = grid.n_groups
    assert 7 not in grid.user_ids and 5 not in grid.item_ids
    for c in range(g * g):  # a cell's users (items) are one group: one run of numbers
        cell = slice(grid.starts[c], grid.starts[c + 1])
        same_round = slice(grid.starts[(c // g) * g], grid.starts[(c // g + 1) * g])
        for numbers in (grid.users, grid.items):
            lo, hi = numbers[cell].min(initial=10**9), numbers[cell].max(initial=-1)
            others = np.setdiff1d(numbers[same_round], numbers[cell])
            assert not ((others >= lo) & (others <= hi)).any(), c
    init = np.random.default_rng(9)
    p0 = init.normal(0, 0.1, (120, 8)).astype(np.float32)
    q0 = init.normal(0, 0.1, (80, 8)).astype(np.float32)
    kw = dict(mu=np.float32(3.0), biased=True)
    update = dict(lr=np.float32(0.01), reg=np.float32(0.02), reg_bias=np.float32(0.02),
                  update_items=True)  # fmt: skip
    got = dict(bu=np.zeros(120, np.float32), bi=np.zeros(80, np.float32), p=p0.copy(), q=q0.copy())
    ref = {k: v.copy() for k, v in got.items()}
    with grid.packed({**got, **update}) as packed:
        K.mf_epoch_grid(grid.users, grid.items, grid.values, **grid.epoch_args(16, 3), **kw,
                        **packed)  # fmt: skip
    K.mf_epoch_grid(grid.user_ids[grid.users], grid.item_ids[grid.items], grid.values,
                    **grid.epoch_args(16, 3), **kw, **ref, **update)  # fmt: skip
    for key in got:
        np.testing.assert_array_equal(got[key], ref[key])
    np.testing.assert_array_equal(got["p"][7], p0[7])
    np.testing.assert_array_equal(got["q"][5], q0[5])
    assert not np.array_equal(got["p"], p0)


def test_parallel_fits_repeat_exactly_and_do_not_depend_on_the_thread_count():
    users, items, values = ratings(7, n=4000)
    data = Interactions.from_arrays(users, items, values, rating_scale=(1, 5), name="grid")

    def fit(**params):
        m = BiasedMF(**{"n_factors": 8, "n_epochs": 4, "seed": 3, **params}).fit(data)
        return np.concatenate([m.user_factors_.ravel(), m.item_factors_.ravel(),
                               m.user_bias_, m.item_bias_])  # fmt: skip

    two = fit(n_threads=2)
    np.testing.assert_array_equal(fit(n_threads=2), two)
    np.testing.assert_array_equal(fit(n_threads=3), two)  # the same 8 x 8 grid
    assert not np.array_equal(fit(n_threads=2, seed=4), two)
    assert not np.array_equal(fit(shuffle="blocked"), two)  # 1 thread: today's serial loop


def test_groups_hold_about_equal_numbers_of_ratings():
    from workbench_sgd.grid import balanced_groups

    rng = np.random.default_rng(0)
    pop = np.cumsum(1.0 / np.arange(1, 2001) ** 0.8)
    items = np.searchsorted(pop, rng.random(200_000) * pop[-1])
    groups = balanced_groups(items, 8, np.random.default_rng(1))
    assert groups.shape == (2000,) and set(groups.tolist()) == set(range(8))
    mass = np.bincount(groups[items], minlength=8)
    assert mass.max() - mass.min() <= np.bincount(items).max()  # within one value's count
    random = np.random.default_rng(1).permutation(2000) % 8  # the old deal, for contrast
    spread = np.bincount(random[items], minlength=8)
    assert mass.max() - mass.min() < (spread.max() - spread.min()) / 4
    np.testing.assert_array_equal(balanced_groups(items, 8, np.random.default_rng(1)), groups)
