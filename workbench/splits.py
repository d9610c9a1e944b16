"""Splits: the `Split` type (train/test sharing one id space) and the `Splitter` contract.

Concrete splitters are plugins (``workbench_splitters``), registered through the same hook
as third-party ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from workbench.component import Component
from workbench.data import Interactions
from workbench.errors import DataError


@dataclass(frozen=True)
class Split:
    """One train/test pair (a fold). All parts share the dataset's id maps.

    ``history`` is used by new-user splits: interactions of test users that are *not* in
    train but are given to the model at prediction time (fold-in); the test set holds the
    rest of those users' interactions.
    """

    train: Interactions
    test: Interactions
    fold: int = 0
    history: Interactions | None = None

    def __post_init__(self) -> None:
        for part in (self.test, self.history):
            if part is None:
                continue
            if part.users is not self.train.users and part.users != self.train.users:
                raise DataError("split: train and test must share the user id map")
            if part.items is not self.train.items and part.items != self.train.items:
                raise DataError("split: train and test must share the item id map")

    def cold_users(self) -> np.ndarray:
        """Indices of test users with no train interactions (and no fold-in history)."""
        known = self.train.user_counts() > 0
        if self.history is not None:
            known |= self.history.user_counts() > 0
        test_users = np.unique(self.test.user)
        return test_users[~known[test_users]]

    def cold_items(self) -> np.ndarray:
        """Indices of test items with no train interactions."""
        known = self.train.item_counts() > 0
        test_items = np.unique(self.test.item)
        return test_items[~known[test_items]]

    def leaked_pairs(self) -> int:
        """How many test (user, item) pairs also occur in train (must be 0)."""
        n_items = self.train.n_items
        train_keys = self.train.user.astype(np.int64) * n_items + self.train.item
        test_keys = self.test.user.astype(np.int64) * n_items + self.test.item
        train_keys = np.sort(train_keys)
        pos = np.searchsorted(train_keys, test_keys).clip(max=max(len(train_keys) - 1, 0))
        return int((train_keys[pos] == test_keys).sum()) if len(train_keys) else 0

    def describe(self) -> dict[str, int]:
        return {
            "fold": self.fold,
            "n_train": len(self.train),
            "n_test": len(self.test),
            "n_history": 0 if self.history is None else len(self.history),
            "cold_users": len(self.cold_users()),
            "cold_items": len(self.cold_items()),
        }


class Splitter(Component):
    """Base class of splitter plugins: ``Splitter(**options).split(data)`` yields `Split`s.

    Every random choice flows from the splitter's ``seed`` parameter.
    """

    kind: ClassVar[str] = "splitter"

    def split(self, data: Interactions) -> Iterator[Split]:
        raise NotImplementedError  # abstractmethod: every splitter implements it

    def n_splits(self) -> int:
        """How many splits `split` yields (1 for a holdout)."""
        return 1
