"""One place that sets how many threads the numba kernels and BLAS may use."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def limited_threads(n_threads: int | None) -> Iterator[int]:
    """Run the block with at most ``n_threads`` numba threads (None: every core numba may use)
    and ONE BLAS thread (threadpoolctl). The kernels carry the parallelism; the BLAS calls
    in between are small Gram matrices (k x k), for which a pool of BLAS threads only costs
    wake-ups, and on a busy machine far more than the product itself."""
    import numba
    from threadpoolctl import threadpool_limits

    available = numba.config.NUMBA_NUM_THREADS
    n = available if n_threads is None else max(1, min(int(n_threads), available))
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield n
    finally:
        numba.set_num_threads(previous)
