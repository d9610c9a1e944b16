"""The ``local`` backend: tasks on this machine, serially or in joblib/loky worker processes.

``--jobs 1`` (or a single task) runs in the main process; ``--jobs N`` starts N loky workers
with one BLAS / OpenMP / numba thread each (``inner_max_num_threads=1``), so a task computes
the same numbers in a worker as in the main process. Live progress travels through a
`multiprocessing.Manager` queue.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from workbench.backend import Backend


class Local(Backend):
    """This machine: the main process (--jobs 1) or loky worker processes (--jobs N, -1: all)."""

    name = "local"

    @contextlib.contextmanager
    def connect(self) -> Iterator[None]:
        from joblib import parallel_config

        with parallel_config(backend="loky", inner_max_num_threads=1):
            yield

    @contextlib.contextmanager
    def events(self) -> Iterator[Any]:
        import multiprocessing

        manager = multiprocessing.Manager()
        try:
            yield manager.Queue()
        finally:
            manager.shutdown()

    def map_unordered(
        self, func: Callable[..., Any], items: list[tuple], jobs: int
    ) -> Iterator[Any]:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=self.n_jobs(jobs), return_as="generator_unordered")(
            delayed(_in_worker)(func, *item) for item in items
        )
        try:
            for result in results:  # noqa: UP028 - not yield from: it would close `results`
                yield result  # itself, before _close_quietly could silence joblib
        except GeneratorExit:  # the caller stopped (Ctrl-C, SIGTERM, a full disk)
            _close_quietly(results)
            raise


#: How much a loky worker may grow past its size after its first task before loky restarts it
#: as "leaking" (loky's default: 300 MB).
WORKER_GROWTH = 2 * 2**30


def _in_worker(func: Callable[..., Any], *args: Any) -> Any:
    """Run one task in a worker, first raising loky's leak threshold: loky measures a worker
    after its first task and restarts it, warning "A worker stopped while some jobs were given
    to the executor", once it grows 300 MB past that, which a later task's one-off imports do
    (torch alone is more, numba's compiled kernels add to it) on a normal ``--jobs 2`` run."""
    try:
        from joblib.externals.loky import process_executor
    except ImportError:  # pragma: no cover - another joblib layout: keep its default
        return func(*args)
    if getattr(process_executor, "_MAX_MEMORY_LEAK_SIZE", WORKER_GROWTH) < WORKER_GROWTH:
        process_executor._MAX_MEMORY_LEAK_SIZE = WORKER_GROWTH
    return func(*args)


def _close_quietly(results: Any) -> None:
    """Close a joblib result generator: joblib then kills the workers at once (instead of
    when the generator is garbage collected, while the worker processes keep running and
    hold the terminal), without its warning about unused results."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results.close()
