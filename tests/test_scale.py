"""Large-data paths checked on small inputs: the compiled duplicate check, blocked SGD order,
parallel SGD and the chunked synthetic generator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from workbench_sgd.base import Ratings
from workbench_sgd.biased import BiasedMF

import workbench.data as data_module
from workbench._data_kernels import SMALL_ITEMS, has_duplicate_pair
from workbench.data import Interactions
from workbench.errors import DataError
from workbench.testing import ModelContract, holdout, low_rank_ratings


def test_compiled_duplicate_check_agrees_with_unique() -> None:
    rng = np.random.default_rng(1)
    for _ in range(300):
        n, n_users, n_items = rng.integers(1, 60), rng.integers(1, 8), rng.integers(1, 8)
        u = rng.integers(0, n_users, n).astype(np.int32)
        i = rng.integers(0, n_items, n).astype(np.int32)
        repeated = len(np.unique(u.astype(np.int64) * n_items + i)) < n
        assert has_duplicate_pair(u, i, n_users, n_items) == repeated
        # the users cut into 1-8 ranges, checked in parallel
        assert has_duplicate_pair(u, i, n_users, n_items, int(rng.integers(1, 9))) == repeated


@pytest.mark.parametrize("n_items", [SMALL_ITEMS, SMALL_ITEMS + 1, 200_000])
def test_compiled_duplicate_check_with_wide_item_codes(n_items: int) -> None:
    """Item codes up to 16 bits go into 2-byte buckets, wider ones into 4-byte ones: a
    repeat of the largest code is found either way, and codes equal modulo 2^16 are not
    taken for a repeat."""
    rng = np.random.default_rng(3)
    n_users = 50
    keys = rng.permutation(np.unique(rng.integers(0, n_users * n_items, 5_000)))
    extra = sorted({n_items - 1, (n_items - 1) % SMALL_ITEMS, 1})  # distinct items
    u = np.append(keys // n_items, [n_users] * len(extra)).astype(np.int32)
    i = np.append(keys % n_items, extra).astype(np.int32)
    for parts in (1, 2, 4):
        assert not has_duplicate_pair(u, i, n_users + 1, n_items, parts)
        again = np.append(u, n_users).astype(np.int32), np.append(i, n_items - 1).astype(np.int32)
        assert has_duplicate_pair(*again, n_users + 1, n_items, parts)


@pytest.mark.parametrize("policy", ["last", "first", "mean", "sum"])
def test_fast_duplicate_path_gives_the_same_data(monkeypatch, policy: str) -> None:
    rng = np.random.default_rng(2)
    users, items = rng.integers(0, 30, 400), rng.integers(0, 20, 400)
    values = rng.integers(1, 6, 400)
    slow = Interactions.from_arrays(users, items, values, duplicates=policy)
    monkeypatch.setattr(data_module, "_FAST_CHECK_ROWS", 1)
    fast = Interactions.from_arrays(users, items, values, duplicates=policy)
    assert fast.meta["duplicates_merged"] == slow.meta["duplicates_merged"] > 0
    for name in ("user", "item", "value"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
    unique = Interactions.from_arrays(np.arange(50), np.arange(50) % 7, np.ones(50))
    assert unique.meta["duplicates_merged"] == 0


def test_fast_duplicate_path_keeps_the_error(monkeypatch) -> None:
    monkeypatch.setattr(data_module, "_FAST_CHECK_ROWS", 1)
    with pytest.raises(DataError, match="row 3: duplicate rating of item 'x' by user 'a'"):
        Interactions.from_arrays(["a", "b", "a"], ["x", "x", "x"], [4, 5, 2], duplicates="error")


# -- SGD: blocked epoch order and lock-free parallel epochs --------------------------------------


class TestBlockedSGDContract(ModelContract):
    def make_model(self, **params: Any) -> BiasedMF:
        return BiasedMF(n_factors=8, n_epochs=30, shuffle="blocked", block_size=64, **params)


def test_by_user_order_is_a_stable_sort() -> None:
    users = np.random.default_rng(0).integers(0, 9, 500).astype(np.int32)
    order = BiasedMF()._kernels().by_user_order(users, 9)
    np.testing.assert_array_equal(order, np.argsort(users, kind="stable"))


def test_blocked_order_shuffles_within_blocks_visited_in_random_order() -> None:
    n, block = 1000, 64
    ratings = Ratings(
        np.arange(n, dtype=np.int32), np.zeros(n, dtype=np.int32), np.arange(n, dtype=np.float32)
    )
    first = BiasedMF()._blocked(ratings, np.random.default_rng(5), block)
    again = BiasedMF()._blocked(ratings, np.random.default_rng(5), block)
    np.testing.assert_array_equal(first.users, again.users)  # seeded
    rows = first.users
    assert sorted(rows.tolist()) == list(range(n)) and not np.array_equal(rows, np.arange(n))
    expected_blocks = np.random.default_rng(5).permutation(-(-n // block))
    sizes = [min(block, n - b * block) for b in expected_blocks]
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    for b, start, size in zip(expected_blocks, starts, sizes, strict=True):
        part = rows[start : start + size]
        assert sorted(part.tolist()) == list(range(b * block, b * block + size))
    np.testing.assert_array_equal(first.values, rows)  # the columns move together


def test_blocked_and_parallel_sgd_learn_as_well_as_the_full_shuffle() -> None:
    data = low_rank_ratings(n_users=300, n_items=200, density=0.3, seed=1)
    train, test = holdout(data, seed=1)

    def rmse(**params: Any) -> float:
        model = BiasedMF(n_factors=10, n_epochs=40, **params).fit(train)
        pred = model.predict(test.user, test.item)
        return float(np.sqrt(np.mean((pred - test.value) ** 2)))

    full = rmse()
    assert rmse(shuffle="blocked", block_size=256) == pytest.approx(full, rel=0.03)
    assert rmse(n_threads=2, block_size=256) == pytest.approx(full, rel=0.03)
    blocked = BiasedMF(n_epochs=3, shuffle="blocked", block_size=256).fit(train)
    default = BiasedMF(n_epochs=3).fit(train)
    assert not np.array_equal(blocked.user_factors_, default.user_factors_)


def test_dense_integer_factorize_matches_pandas(monkeypatch) -> None:
    import pandas as pd

    monkeypatch.setattr(data_module, "_CHUNK", 16)
    rng = np.random.default_rng(4)
    for values in (rng.integers(-50, 200, 300), rng.integers(0, 10**12, 300), np.arange(40)):
        values = values.astype(np.int64)
        codes, uniques = pd.factorize(pd.Series(values), sort=True)
        ids, ours = data_module.IdMap.factorize(values)
        np.testing.assert_array_equal(ours, codes)
        np.testing.assert_array_equal(ids.ids, uniques)
        assert ours.dtype == np.int32
