"""One place that sets how many threads the models may use: numba, BLAS and torch.

The setting is ``WORKBENCH_THREADS`` (default: the cores this process may run on). A task in
a pool (a ``--jobs`` loky worker, a Dask or Ray worker) runs with ONE thread of each kind
(`task_threads`), so N workers use N cores instead of N times every core: torch's intra-op
pool on top of ``--jobs`` workers and other load is what made the torch models 5-50x slower on
a busy 2-core machine. torch's inter-op pool can be sized only once per process, before torch
does parallel work; `torch_threads` does that at torch's first use here. Torch alone defaults
to one thread where ``WORKBENCH_THREADS`` is not set (`torch_budget`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from workbench.errors import ParamError

#: The environment variable that sets the workbench's thread budget.
ENV = "WORKBENCH_THREADS"

_task_limit: int | None = None  # set by task_threads while a pooled task runs
_interop_set = False


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def thread_budget() -> int:
    """Threads one model may use here: 1 inside a pooled task, else ``WORKBENCH_THREADS``,
    else every available core."""
    if _task_limit is not None:
        return _task_limit
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return available_cores()
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ParamError(f"environment variable {ENV}={raw!r}: expected a whole number >= 1")
    return min(value, 4 * available_cores())


@contextlib.contextmanager
def limited_threads(n_threads: int | None) -> Iterator[int]:
    """Run the block with at most ``n_threads`` numba threads (None: the workbench's
    `thread_budget`) and ONE BLAS thread (threadpoolctl). The kernels carry the parallelism;
    the BLAS calls in between are small Gram matrices (k x k), for which a pool of BLAS threads
    only costs wake-ups, and on a busy machine far more than the product itself."""
    import numba
    from threadpoolctl import threadpool_limits

    available = numba.config.NUMBA_NUM_THREADS
    wanted = thread_budget() if n_threads is None else int(n_threads)
    n = max(1, min(wanted, available))
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield n
    finally:
        numba.set_num_threads(previous)


@contextlib.contextmanager
def task_threads(limit: int = 1) -> Iterator[None]:
    """Run one pooled task with ``limit`` threads of every kind: BLAS/OpenMP (threadpoolctl),
    numba's default, and torch's (through `thread_budget`, read by `torch_threads`)."""
    global _task_limit
    import numba
    from threadpoolctl import threadpool_limits

    before, numba_before = _task_limit, numba.get_num_threads()
    _task_limit = limit
    numba.set_num_threads(max(1, min(limit, numba.config.NUMBA_NUM_THREADS)))
    try:
        with threadpool_limits(limit):
            yield
    finally:
        _task_limit = before
        numba.set_num_threads(numba_before)


def _set_interop_once(torch: object, n: int) -> None:
    """Size torch's inter-op pool, once per process and before torch's first parallel work
    (torch refuses later; then the pool stays as it is)."""
    global _interop_set
    if _interop_set:
        return
    _interop_set = True
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(n)  # type: ignore[attr-defined]


def torch_budget() -> int:
    """Torch's threads when a model does not say: ``WORKBENCH_THREADS`` where it is set (1 in
    a pooled task), else ONE. The torch models train on small batches, where torch's OpenMP
    threads mostly wait for each other at every operation: on an idle machine a second thread
    gains little, on a busy one it costs 10-100x (torch-mf 207 s per fold with two threads
    beside other load, against about a second alone)."""
    if _task_limit is not None or os.environ.get(ENV, "").strip():
        return thread_budget()
    return 1


@contextlib.contextmanager
def torch_threads(n: int | None = None) -> Iterator[int]:
    """Run the block with ``n`` torch intra-op threads (None: `torch_budget`); the first
    call in a process also sizes the inter-op pool."""
    import torch

    wanted = torch_budget() if n is None else max(1, int(n))
    _set_interop_once(torch, wanted)
    before = torch.get_num_threads()
    torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        torch.set_num_threads(before)
