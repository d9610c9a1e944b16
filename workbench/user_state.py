"""`UserState`: what a model computes per user before scoring (factors, biases, a history).

A model's `_user_state` (known users) and `_fold_in` (new users) return one; `predict`,
`recommend` and the evaluation slice it by rows. It knows its row count even when it holds no
arrays (a model whose scores do not depend on the user), so nothing has to guess it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np


class UserState:
    """Per-user values whose first axis is the user; ``len(state)`` is the number of users.

    Values are numpy arrays or anything row-sliceable with a ``shape`` (a CSR matrix of the
    users' histories, for instance). Read like a mapping: ``state["factors"]``, ``list(state)``
    (the keys), ``dict(state.items())``.
    """

    __slots__ = ("_arrays", "_n_rows", "shared")

    def __init__(
        self, arrays: Mapping[str, Any], n_rows: int, shared: Mapping[str, Any] | None = None
    ) -> None:
        for key, value in arrays.items():
            rows = value.shape[0] if value.shape else None
            if rows != n_rows:
                raise ValueError(f"user state {key!r} has {rows} rows, expected {n_rows}")
        self._arrays = dict(arrays)
        self._n_rows = int(n_rows)
        #: Values every row refers to (e.g. a matrix of histories indexed by a "row" array):
        #: kept as they are when rows are taken, so slicing never copies them.
        self.shared: dict[str, Any] = dict(shared or {})

    @classmethod
    def of(cls, n_rows: int | None = None, **arrays: Any) -> UserState:
        """A state from keyword arrays; ``n_rows`` is needed only when there are none."""
        if n_rows is None:
            if not arrays:
                raise ValueError("UserState.of: give n_rows when there are no arrays")
            n_rows = next(iter(arrays.values())).shape[0]
        return cls(arrays, n_rows)

    @classmethod
    def coerce(cls, value: UserState | Mapping[str, Any], n_rows: int | None = None) -> UserState:
        """Accept a `UserState` or a plain mapping of arrays (the v1 contract's dict)."""
        if isinstance(value, UserState):
            return value
        arrays = {k: v for k, v in value.items() if getattr(v, "shape", None) is not None}
        # a v1 state value without a shape (a shared reference whose ``[rows]`` is itself)
        shared = {k: v for k, v in value.items() if k not in arrays}
        if n_rows is None:
            if not arrays:
                raise ValueError("UserState.coerce: give n_rows when there are no arrays")
            n_rows = next(iter(arrays.values())).shape[0]
        return cls(arrays, n_rows, shared)

    @classmethod
    def concat(cls, states: Sequence[UserState]) -> UserState:
        """Rows of several states with the same keys, one after another."""
        if not states:
            raise ValueError("UserState.concat: no states")
        keys = list(states[0])
        arrays = {k: np.concatenate([np.asarray(s[k]) for s in states]) for k in keys}
        return cls(arrays, sum(len(s) for s in states))

    def take(self, rows: Any) -> UserState:
        """The state of some rows (an index array or a slice)."""
        if isinstance(rows, slice):
            n = len(range(*rows.indices(self._n_rows)))
        else:
            rows = np.asarray(rows, dtype=np.int64)
            n = len(rows)
        return UserState({k: v[rows] for k, v in self._arrays.items()}, n, self.shared)

    def __getitem__(self, key: str) -> Any:
        return self._arrays[key] if key in self._arrays else self.shared[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __contains__(self, key: object) -> bool:
        return key in self._arrays

    def keys(self) -> list[str]:
        return list(self._arrays)

    def items(self) -> list[tuple[str, Any]]:
        return list(self._arrays.items())

    def __len__(self) -> int:
        return self._n_rows

    def __repr__(self) -> str:
        return f"UserState(n_rows={self._n_rows}, keys={list(self._arrays)})"


def grow_rows(array: np.ndarray, n_rows: int) -> np.ndarray:
    """``array`` with zero rows appended up to ``n_rows`` (same dtype; the array itself when
    it is long enough): how every model grows its per-user arrays in `update_users`."""
    extra = n_rows - array.shape[0]
    if extra <= 0:
        return array
    return np.concatenate([array, np.zeros((extra, *array.shape[1:]), dtype=array.dtype)])
