"""A normal ``--jobs 2`` run prints no joblib "A worker stopped while some jobs were given to
the executor": loky took a worker whose later task imported torch (a one-off growth of
hundreds of MB after its first task) for a leak and restarted it."""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("psutil")  # loky checks for leaks only with psutil

_HELD: list[np.ndarray] = []


def _grows_once(i: int) -> int:
    """Task 0 of each worker stays small; a later one keeps 400 MB (as importing torch does)."""
    if i >= 2 and not _HELD:
        _HELD.append(np.ones(400 * 2**20 // 8))
    time.sleep(1.2)  # past loky's one-second delay between two leak checks
    return os.getpid()


def test_no_worker_restart_warning_when_a_task_grows_a_worker():
    from workbench_search.local import Local

    backend = Local()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with backend.connect():
            pids = list(backend.map_unordered(_grows_once, [(i,) for i in range(6)], 2))
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "A worker stopped" in m], messages
    assert len(pids) == 6
