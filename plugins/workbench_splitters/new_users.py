"""New-user splits: some users are held out entirely and folded in at prediction time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from workbench.data import Interactions
from workbench.errors import DataError
from workbench.params import Params
from workbench.splits import Split, Splitter
from workbench_splitters.base import make_split, positions_within_user, seed_field


class NewUsersParams(Params):
    user_fraction: float = Field(
        0.2, gt=0.0, lt=1.0, description="share of users held out of training (rounded)"
    )
    history_fraction: float = Field(
        0.5,
        gt=0.0,
        lt=1.0,
        description="share of each held-out user's interactions given as fold-in history",
    )
    history_n: int | None = Field(
        None, ge=1, description="instead of history_fraction: this many per held-out user"
    )
    by: Literal["random", "time"] = Field(
        "random", description="history = a random part, or the earliest part (needs timestamps)"
    )
    n_folds: int = Field(
        1, ge=1, le=100, description="more than 1: users in n_folds groups, each held out in turn"
    )
    seed: int = seed_field()  # type: ignore[assignment]


class NewUsers(Splitter):
    """Held-out users: fold-in history plus test set per user, the rest of the users train.

    Like train_update_test_split of the matrix-factorization package (a fraction of users is
    new; each new user's interactions are split into an update part and a test part), but
    seeded. Each held-out user keeps at least one test interaction.
    """

    name: ClassVar[str] = "new-users"
    Params: ClassVar[type[Params]] = NewUsersParams

    def groups(self, data: Interactions, rng: np.random.Generator) -> list[np.ndarray]:
        """Boolean masks over user indices: the held-out users of each fold."""
        active = np.flatnonzero(data.user_counts() > 0)
        order = rng.permutation(active)
        p = self.params
        masks = []
        if p.n_folds == 1:
            n_out = min(max(1, int(round(p.user_fraction * len(active)))), len(active) - 1)
            chunks = [order[:n_out]]
        else:
            chunks = [order[f :: p.n_folds] for f in range(p.n_folds)]
        for chunk in chunks:
            mask = np.zeros(data.n_users, dtype=bool)
            mask[chunk] = True
            masks.append(mask)
        return masks

    def split(self, data: Interactions) -> Iterator[Split]:
        p = self.params
        rng = np.random.default_rng(p.seed)
        if np.count_nonzero(data.user_counts()) < 2:
            raise DataError(f"{self.owner()}: dataset '{data.name}' has fewer than 2 users")
        masks = self.groups(data, rng)
        pos, count = positions_within_user(data, p.by, rng, self.owner())
        if p.history_n is not None:
            n_hist = np.full(len(count), p.history_n, dtype=np.int64)
        else:
            n_hist = np.floor(count * p.history_fraction + 0.5).astype(np.int64)
        n_hist = np.clip(np.minimum(n_hist, count - 1), 0, None)
        in_history = pos < n_hist
        for f, held in enumerate(masks):
            row_held = held[data.user]
            yield make_split(
                data,
                row_held & ~in_history,
                train=~row_held,
                history=row_held & in_history,
                fold=f,
                n_folds=p.n_folds,
                what=self.name,
            )

    def n_splits(self, data: Interactions | None = None) -> int:
        return self.params.n_folds
