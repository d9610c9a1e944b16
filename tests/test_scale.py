"""Large-data paths checked on small inputs: the compiled duplicate check, blocked SGD order,
parallel SGD and the chunked synthetic generator."""

from __future__ import annotations

import numpy as np
import pytest

import workbench.data as data_module
from workbench._data_kernels import has_duplicate_pair
from workbench.data import Interactions
from workbench.errors import DataError


def test_compiled_duplicate_check_agrees_with_unique() -> None:
    rng = np.random.default_rng(1)
    for _ in range(300):
        n, n_users, n_items = rng.integers(1, 60), rng.integers(1, 8), rng.integers(1, 8)
        u = rng.integers(0, n_users, n).astype(np.int32)
        i = rng.integers(0, n_items, n).astype(np.int32)
        repeated = len(np.unique(u.astype(np.int64) * n_items + i)) < n
        assert has_duplicate_pair(u, i, n_users, n_items) == repeated


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
