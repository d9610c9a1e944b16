"""Per-user splits: hold out part of every user's interactions (random or most recent)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from workbench.data import Interactions
from workbench.errors import ParamError
from workbench.params import Params
from workbench.splits import Split, Splitter
from workbench_splitters.base import (
    make_split,
    n_test_per_user,
    positions_within_user,
    seed_field,
)


class UserHoldoutParams(Params):
    fraction: float | None = Field(
        0.2, gt=0.0, lt=1.0, description="share of each user's interactions in test (rounded)"
    )
    n: int | None = Field(None, ge=1, description="instead of fraction: this many per user")
    by: Literal["random", "time"] = Field(
        "random", description="which ones: random, or the most recent (needs timestamps)"
    )
    min_train: int = Field(1, ge=0, description="always keep at least this many per user in train")
    seed: int = seed_field()  # type: ignore[assignment]


class UserHoldout(Splitter):
    """Hold out a fraction (or n) of each user's interactions: random or the latest ones."""

    name: ClassVar[str] = "user-holdout"
    Params: ClassVar[type[Params]] = UserHoldoutParams

    def split(self, data: Interactions) -> Iterator[Split]:
        p = self.params
        if p.n is None and p.fraction is None:
            raise ParamError(f"{self.owner()}: give fraction= or n=")
        rng = np.random.default_rng(p.seed)
        pos, count = positions_within_user(data, p.by, rng, self.owner())
        n_test = n_test_per_user(count, None if p.n is not None else p.fraction, p.n, p.min_train)
        yield make_split(data, pos >= count - n_test, what=self.name)

    def n_splits(self, data: Interactions | None = None) -> int:
        return 1


class LeaveOneOutParams(Params):
    by: Literal["time", "random"] = Field(
        "time", description="which one per user: the most recent (needs timestamps) or random"
    )
    min_train: int = Field(
        1, ge=0, description="users with fewer than min_train + 1 interactions stay in train"
    )
    seed: int = seed_field()  # type: ignore[assignment]


class LeaveOneOut(Splitter):
    """Leave one out: each user's latest (or a random) interaction is the test set."""

    name: ClassVar[str] = "leave-one-out"
    Params: ClassVar[type[Params]] = LeaveOneOutParams

    def split(self, data: Interactions) -> Iterator[Split]:
        p = self.params
        rng = np.random.default_rng(p.seed)
        pos, count = positions_within_user(data, p.by, rng, self.owner())
        n_test = n_test_per_user(count, None, 1, p.min_train)
        yield make_split(data, pos >= count - n_test, what=self.name)

    def n_splits(self, data: Interactions | None = None) -> int:
        return 1
