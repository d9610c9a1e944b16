"""A seeded random ranking: the floor every top-N model must clear.

The score of (user, item) is a hash of (seed, the user's key, item) mapped to [0, 1): the
same pair always gets the same score, whatever the block or the order it is scored in. A
training user's key is its index; a folded-in user's key is a hash of its history items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.capabilities import Capabilities, ColdStart
from workbench.data import Interactions
from workbench.model import Model, TrainingCallback
from workbench.params import Params
from workbench.user_state import UserState, grow_rows

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser over a uint64 array (wrapping arithmetic)."""
    z = np.asarray(z, dtype=np.uint64).copy()
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def uniform(keys: np.ndarray, items: np.ndarray) -> np.ndarray:
    """A float in [0, 1) per (key, item) of the outer product (rows: keys)."""
    item_keys = mix(items.astype(np.int64).astype(np.uint64) + _GOLDEN)
    z = mix(keys[:, None] ^ item_keys[None, :])
    return ((z >> np.uint64(11)).astype(np.float64) * 2.0**-53).astype(np.float32)


class RandomParams(Params):
    seed: int = Field(0, ge=0, description="random seed: the same seed, the same scores")


class RandomRanking(Model):
    """Items in a random order per user, fixed by ``seed`` (scores in [0, 1))."""

    name = "random"
    Params = RandomParams
    plugin_api = "3.0"
    state_version = 1
    capabilities = Capabilities(
        predicts="scores",
        cold_start=ColdStart(user="a random order like any user", item="a random score"),
        fold_in="custom",
        update_users=True,
    )

    def _seed_key(self) -> np.uint64:
        return mix(np.array([self.params.seed], dtype=np.uint64) * _M2 + _GOLDEN)[0]

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Interactions | None
    ) -> None:
        users = np.arange(train.n_users, dtype=np.uint64)
        self.keys_ = mix(users ^ self._seed_key())

    def _user_state(self, users: np.ndarray) -> UserState:
        inside = users >= 0
        keys = np.where(inside, self.keys_[np.where(inside, users, 0)], self._seed_key())
        return UserState.of(keys=keys.astype(np.uint64))

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        n = history.shape[0]
        item_keys = mix(history.indices.astype(np.uint64) + _GOLDEN)
        rows = np.repeat(np.arange(n), np.diff(history.indptr))
        sums = np.zeros(n, dtype=np.uint64)
        np.add.at(sums, rows, item_keys)  # order-free: wrapping sum of the items' hashes
        return UserState.of(keys=mix(sums ^ self._seed_key() ^ _M1))

    def _set_user_rows(self, rows: np.ndarray, state: UserState, n_users: int) -> None:
        self.keys_ = grow_rows(self.keys_, n_users)
        self.keys_[rows] = state["keys"]

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        return uniform(state["keys"], np.asarray(items))

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        keys = state["keys"]
        out = np.empty(len(items), dtype=np.float32)
        for r in range(0, len(items), 4096):
            sl = slice(r, r + 4096)
            item_keys = mix(np.asarray(items[sl]).astype(np.int64).astype(np.uint64) + _GOLDEN)
            z = mix(keys[sl] ^ item_keys)
            out[sl] = ((z >> np.uint64(11)).astype(np.float64) * 2.0**-53).astype(np.float32)
        return out

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"keys": self.keys_}

    def _set_state_arrays(self, arrays: Mapping[str, Any]) -> None:
        self.keys_ = np.asarray(arrays["keys"], dtype=np.uint64)
