"""Shared machinery of the built-in splitters: building checked `Split`s, per-user ranks."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from workbench.data import Interactions
from workbench.errors import DataError
from workbench.splits import Split


def seed_field() -> object:
    return Field(42, description="random seed: the same seed gives the same split")


def assert_no_leakage(split: Split) -> Split:
    """Raise if a test (user, item) pair also occurs in train or in the fold-in history."""
    leaked = split.leaked_pairs()
    if split.history is not None:
        n_items = split.train.n_items
        hist = split.history.user.astype(np.int64) * n_items + split.history.item
        test = split.test.user.astype(np.int64) * n_items + split.test.item
        leaked += int(np.isin(test, hist).sum())
    if leaked:
        raise DataError(
            f"split {split.fold}: {leaked} test (user, item) pairs also occur in the training "
            "data (the dataset has repeated pairs: load it with a duplicates policy)"
        )
    return split


def _part(data: Interactions, rows: np.ndarray, label: str) -> Interactions:
    return data.subset(rows, name=f"{data.name} [{label}]")


def make_split(
    data: Interactions,
    test: np.ndarray,
    *,
    fold: int = 0,
    n_folds: int = 1,
    train: np.ndarray | None = None,
    history: np.ndarray | None = None,
    what: str = "split",
) -> Split:
    """A checked `Split` from boolean row masks (train defaults to every row not in test)."""
    if train is None:
        train = ~test if history is None else ~(test | history)
    label = f"fold {fold} (of folds 0-{n_folds - 1})" if n_folds > 1 else what
    if not test.any():
        raise DataError(f"{what}: {label} has an empty test set for dataset '{data.name}'")
    if not train.any():
        raise DataError(f"{what}: {label} has an empty training set for dataset '{data.name}'")
    split = Split(
        train=_part(data, np.flatnonzero(train), f"train {label}"),
        test=_part(data, np.flatnonzero(test), f"test {label}"),
        fold=fold,
        history=None
        if history is None
        else _part(data, np.flatnonzero(history), f"history {label}"),
    )
    return assert_no_leakage(split)


def need_timestamps(data: Interactions, who: str) -> np.ndarray:
    if data.timestamp is None:
        raise DataError(
            f"{who} needs timestamps, but dataset '{data.name}' has none (split by=random instead)"
        )
    return data.timestamp


def positions_within_user(
    data: Interactions, by: str, rng: np.random.Generator, who: str
) -> tuple[np.ndarray, np.ndarray]:
    """(position of each row within its user's rows, that user's row count).

    Rows are ordered by time (ties broken at random) or at random; position 0 is the first.
    """
    tie = rng.random(len(data))
    if by == "time":
        order = np.lexsort((tie, need_timestamps(data, who), data.user))
    else:
        order = np.lexsort((tie, data.user))
    counts = data.user_counts()
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.empty(len(data), dtype=np.int64)
    pos[order] = np.arange(len(data)) - starts[data.user[order]]
    return pos, counts[data.user]


def n_test_per_user(
    counts: np.ndarray, fraction: float | None, n: int | None, min_train: int
) -> np.ndarray:
    """How many of each user's rows go to test (never leaving fewer than ``min_train``)."""
    wanted = (
        np.full(len(counts), n, dtype=np.int64)
        if n is not None
        else np.floor(counts * fraction + 0.5).astype(np.int64)
    )
    return np.clip(np.minimum(wanted, counts - min_train), 0, None)
