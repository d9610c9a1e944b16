"""A numeric column that grows batch by batch, held in a few large blocks.

Large blocks are separate memory mappings: freed, they go back to the system at once (a
list of many small per-batch arrays would stay in the allocator's heap), and the pages of
a block never written to take no memory. The blocks are joined once at the end, each freed
as soon as it is copied, so the column exists about once, not twice; a single block (the
expected row count given up front, and not exceeded) is only cut to length, in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

#: Rows of the first block (later blocks double, up to `MAX_BLOCK_ROWS`).
FIRST_BLOCK_ROWS = 1 << 16
MAX_BLOCK_ROWS = 1 << 24
#: Copies of at least this many rows into fresh memory fault its pages in on every thread
#: first (`touched`; numba is loaded anyway for a table of a million rows or more).
TOUCH_ROWS = 1 << 20


def touched(part: np.ndarray) -> np.ndarray:
    """``part`` (a contiguous slice of fresh memory about to be written), its pages faulted
    in on numba's threads when it is large: the copy into it then runs at memory speed on
    one thread. On a VM that takes freed memory back, the faults of a 10M-row load's
    200 MB of columns took 0.35-0.5 s on one thread (docs/benchmarks.md)."""
    if len(part) >= TOUCH_ROWS:
        from workbench_datasets._memory_kernels import touch_pages

        touch_pages(part.view(np.uint8))
    return part


class ColumnBuffer:
    """Append numpy batches (cast to ``dtype``); `parts` for edits in place; `finish`."""

    def __init__(self, dtype: Any, expect: int = 0):
        self.dtype = np.dtype(dtype)
        self.expect = expect  #: rows of the first block, when known or estimated
        self._blocks: list[np.ndarray] = []
        self._used = 0  # rows filled in the last block
        self._rows = 0
        self._whole = False  # the last block's pages were faulted in at once

    def __len__(self) -> int:
        return self._rows

    def append(self, values: np.ndarray) -> None:
        """Copy ``values`` in (cast like ``out[...] = values``)."""
        done = 0
        while done < len(values):
            if not self._blocks or self._used == len(self._blocks[-1]):
                if self._blocks:
                    size = min(len(self._blocks[-1]) * 2, MAX_BLOCK_ROWS)
                else:
                    size = self.expect or FIRST_BLOCK_ROWS
                size = max(size, min(len(values) - done, MAX_BLOCK_ROWS))
                block = np.empty(size, dtype=self.dtype)
                # a first block sized from the expected rows will be filled: fault it in at
                # once (one sweep over every thread was the faster on the VM measured);
                # others are faulted in as they fill
                self._whole = not self._blocks and size == self.expect
                self._blocks.append(touched(block) if self._whole else block)
                self._used = 0
            block = self._blocks[-1]
            take = min(len(values) - done, len(block) - self._used)
            part = block[self._used : self._used + take]
            (part if self._whole else touched(part))[...] = values[done : done + take]
            self._used += take
            done += take
        self._rows += len(values)

    def parts(self) -> Iterator[np.ndarray]:
        """The filled part of each block, in order (views: edit them in place)."""
        for k, block in enumerate(self._blocks):
            yield block if k < len(self._blocks) - 1 else block[: self._used]

    def finish(self) -> np.ndarray:
        """All rows as one array; the buffer is emptied (each block freed once copied)."""
        blocks, self._blocks = self._blocks, []
        if len(blocks) == 1:
            block = blocks.pop()
            rows, self._rows, self._used = self._rows, 0, 0
            try:
                block.resize(rows)  # in place: the unused tail was never touched
            except ValueError:  # something else refers to the block: cut a copy
                return block[:rows].copy()
            return block
        out = touched(np.empty(self._rows, dtype=self.dtype))
        start = 0
        while blocks:
            block = blocks.pop(0)
            take = len(block) if blocks else self._used
            out[start : start + take] = block[:take]
            start += take
            del block
        self._rows = self._used = 0
        return out
