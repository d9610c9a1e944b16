"""Int32 codes for an id column that arrives in batches, equal to `IdMap.factorize` of the
whole column: ids sorted (numbers by value, text as pandas sorts it), codes their ranks.

Integer ids that fit 32 bits are kept as they come (4 bytes a row, the size of the codes)
and turned into ranks in place at the end through a presence table over their range. Other
ids (text, wider integers, a range much wider than the row count) are coded batch by batch
into each batch's own distinct ids; at the end all those distinct ids are ranked at once
and every batch's codes become ranks. Either way no batch is held in 64 bits beyond its own
conversion (the distinct ids of every batch are: for such ids, at most the rows).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from workbench.data import IdMap
from workbench_datasets.columnbuffer import ColumnBuffer

#: Rows remapped at a time at the end (bounds the temporaries).
_STEP = 1 << 20
_INT32 = np.iinfo(np.int32)


class IdCodes:
    """Collects one id column batch by batch; `finish` gives the id map and the codes."""

    def __init__(self) -> None:
        #: The codes (raw ids while they are kept as they come), in large blocks.
        self.buffer = ColumnBuffer(np.int32)
        self._raw = True
        self._text: bool | None = None
        # once not raw, the rows come in pieces, each coded into its own distinct ids
        self._uniques: list[np.ndarray] = []
        self._rows: list[int] = []

    def __len__(self) -> int:
        return len(self.buffer)

    def add_ints(self, values: np.ndarray) -> None:
        """A batch of integer ids (any integer dtype whose values fit int64)."""
        self._kind(text=False)
        if self._raw and len(values):
            lo, hi = int(values.min()), int(values.max())
            if lo >= _INT32.min and hi <= _INT32.max:
                self.buffer.append(values)
                return
            self._to_codes()
        if self._raw:
            return  # an empty batch
        codes, uniques = pd.factorize(values.astype(np.int64, copy=False))
        self._piece(codes, uniques)

    def add_coded(self, codes: np.ndarray, uniques: np.ndarray, *, text: bool) -> None:
        """A batch given as codes into its own ``uniques`` (distinct ids: Python str for
        text, else int64), e.g. from a dictionary encoding."""
        self._kind(text=text)
        if self._raw:
            self._to_codes()
        self._piece(codes, uniques)

    def finish(self) -> tuple[IdMap, np.ndarray, Callable[[int], object]]:
        """The id map, the int32 codes of every row (in order) and ``code -> id`` as the
        whole-column conversion gives it (for messages). The buffer is emptied."""
        if self._raw:
            codes = self.buffer.finish()
            dense = _dense_ranks(codes)
            if dense is not None:
                return IdMap(dense), codes, dense.__getitem__
            self.buffer.append(codes)
            del codes
            self._to_codes()
        # every piece's distinct ids, ranked at once: the pieces' codes become ranks
        empty = np.zeros(0, dtype=object if self._text else np.int64)
        distinct = np.concatenate(self._uniques) if self._uniques else empty
        sizes = [len(u) for u in self._uniques]
        self._uniques = []
        if self._text:
            ranks, uniques = pd.factorize(pd.Series(distinct), sort=True)  # as for the whole column
        else:
            ranks, uniques = pd.factorize(distinct, sort=True)
        del distinct
        ranks = ranks.astype(np.int32)
        codes = self.buffer.finish()
        row = first = 0
        for rows, size in zip(self._rows, sizes, strict=True):
            for start in range(row, row + rows, _STEP):
                part = codes[start : min(start + _STEP, row + rows)]
                part[:] = ranks[part.astype(np.int64) + first]
            row, first = row + rows, first + size
        self._rows = []
        return IdMap(uniques), codes, uniques.__getitem__

    # -- internals --------------------------------------------------------------------------
    def _kind(self, *, text: bool) -> None:
        if self._text is None:
            self._text = text
        elif self._text != text:
            raise ValueError("an id column changed between text and numbers")

    def _to_codes(self) -> None:
        """Leave raw mode: the raw int32 ids kept so far become pieces of codes (in
        place)."""
        self._raw = False
        for raw in self.buffer.parts():
            for start in range(0, len(raw), _STEP):
                part = raw[start : start + _STEP]
                codes, uniques = pd.factorize(part.astype(np.int64))
                part[:] = codes
                self._uniques.append(uniques)
                self._rows.append(len(part))

    def _piece(self, codes: np.ndarray, uniques: Any) -> None:
        self.buffer.append(codes)
        self._uniques.append(np.asarray(uniques))
        self._rows.append(len(codes))


def _dense_ranks(values: np.ndarray) -> np.ndarray | None:
    """Replace int32 ``values`` in place by their ranks among the distinct values, when
    their range is at most about the row count (a presence table of 5 bytes per value of
    the range); returns the sorted distinct values (int64), or None (values untouched)."""
    n = len(values)
    if n == 0:
        return None
    lo, hi = int(values.min()), int(values.max())
    span = hi - lo + 1
    if span > n + _STEP:
        return None
    present = np.zeros(span, dtype=bool)
    for start in range(0, n, _STEP):
        present[values[start : start + _STEP].astype(np.int64) - lo] = True
    lookup = np.cumsum(present, dtype=np.int64).astype(np.int32) - 1
    for start in range(0, n, _STEP):
        part = values[start : start + _STEP]
        part[:] = lookup[part.astype(np.int64) - lo]
    return np.flatnonzero(present).astype(np.int64) + lo
