"""Random splits over interactions: a holdout and k-fold cross-validation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import numpy as np
from pydantic import Field

from workbench.data import Interactions
from workbench.params import Params
from workbench.splits import Split, Splitter
from workbench_splitters.base import make_split, seed_field


class HoldoutParams(Params):
    ratio: float = Field(
        0.2, gt=0.0, lt=1.0, description="fraction of interactions in the test set"
    )
    seed: int = seed_field()  # type: ignore[assignment]


class Holdout(Splitter):
    """One random train/test split of the interactions (test = ratio of them)."""

    name: ClassVar[str] = "holdout"
    Params: ClassVar[type[Params]] = HoldoutParams

    def split(self, data: Interactions) -> Iterator[Split]:
        rng = np.random.default_rng(self.params.seed)
        n = len(data)
        n_test = min(max(1, int(round(self.params.ratio * n))), n - 1)
        test = np.zeros(n, dtype=bool)
        test[rng.permutation(n)[:n_test]] = True
        yield make_split(data, test, what="holdout")

    def n_splits(self, data: Interactions | None = None) -> int:
        return 1


class KFoldParams(Params):
    n_folds: int = Field(5, ge=2, le=100, description="number of folds")
    seed: int = seed_field()  # type: ignore[assignment]


class KFold(Splitter):
    """k-fold cross-validation over interactions: each one is in exactly one test fold."""

    name: ClassVar[str] = "kfold"
    Params: ClassVar[type[Params]] = KFoldParams

    def assign(self, data: Interactions) -> np.ndarray:
        """The test fold (0..n_folds-1) of every interaction; fold sizes differ by at most 1."""
        rng = np.random.default_rng(self.params.seed)
        fold = np.empty(len(data), dtype=np.int64)
        fold[rng.permutation(len(data))] = np.arange(len(data)) % self.params.n_folds
        return fold

    def split(self, data: Interactions) -> Iterator[Split]:
        k = self.params.n_folds
        fold_of = self.assign(data)
        for f in range(k):
            yield make_split(data, fold_of == f, fold=f, n_folds=k, what="kfold")

    def n_splits(self, data: Interactions | None = None) -> int:
        return self.params.n_folds
