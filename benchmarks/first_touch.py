"""What writing to fresh memory costs on this machine: 200 MiB allocated and written once
(one byte per page, as a loader's first write does), right after the previous 200 MiB
were freed and again after a pause of ``PAUSE`` seconds, on one thread and on all of them.

On a VM that reports the memory its guest frees back to the host (free-page reporting),
the pages freed a few seconds ago must be backed by the host again on the next first touch:
that is the 4-column CSV load's slow mode when loads alternate in one process
(docs/benchmarks.md). Run::

    .venv/bin/python -m benchmarks.first_touch [PAUSE] [REPEAT]
"""

from __future__ import annotations

import resource
import statistics
import sys
import time

import numba
import numpy as np


@numba.njit(parallel=True, cache=True)
def touch_parallel(a: np.ndarray, step: int) -> None:
    """Write one byte of every ``step`` bytes, the pages split over the threads."""
    for k in numba.prange((a.size + step - 1) // step):
        a[k * step] = 1


@numba.njit(cache=True)
def touch_serial(a: np.ndarray, step: int) -> None:
    """Write one byte of every ``step`` bytes on one thread."""
    for k in range(0, a.size, step):
        a[k] = 1


def main() -> None:
    pause = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    size = 200 << 20
    warm = np.empty(1 << 20, dtype=np.uint8)
    touch_parallel(warm, 4096)
    touch_serial(warm, 4096)
    times: dict[str, list[float]] = {}
    for _ in range(repeat):
        for wait in (0.0, pause):
            for name, touch in (("1 thread", touch_serial), ("all threads", touch_parallel)):
                time.sleep(wait)
                before = resource.getrusage(resource.RUSAGE_SELF).ru_stime
                started = time.perf_counter()
                block = np.empty(size, dtype=np.uint8)
                touch(block, 4096)
                took = time.perf_counter() - started
                sys_s = resource.getrusage(resource.RUSAGE_SELF).ru_stime - before
                del block
                times.setdefault(f"{name}, {wait:g} s after the last free", []).append(took)
                print(f"{name:11s} pause {wait:g} s: {took:.3f} s (system {sys_s:.3f} s)")
    print(f"\n200 MiB first written ({numba.get_num_threads()} threads), medians of {repeat}:")
    for key, values in times.items():
        print(f"  {key}: {statistics.median(values):.3f} s")


if __name__ == "__main__":
    main()
