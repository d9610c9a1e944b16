"""Compiled helper for large fresh buffers (numba)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Bytes apart of the writes that fault in every page (the smallest page size).
PAGE = 4096


@njit(cache=True, parallel=True)
def touch_pages(raw: np.ndarray) -> None:
    """Write a zero into every ``PAGE`` bytes of ``raw`` (a uint8 view of fresh memory), the
    pages split over numba's threads: the first write to a page is a fault, which on a VM
    whose host takes freed memory back costs milliseconds per MiB on one core."""
    for k in prange((raw.shape[0] + PAGE - 1) // PAGE):
        raw[k * PAGE] = 0
