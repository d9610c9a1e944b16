"""Where the parallel (model, fold, params) tasks of `compare` and `tune` run: joblib backends.

- ``local`` (default): worker processes on this machine (joblib's loky backend, one BLAS /
  OpenMP / numba thread per worker).
- ``dask``: a `dask.distributed` cluster, given its scheduler address
  (``tcp://host:8786``); needs ``pip install 'recsys-workbench[dask]'``.
- ``ray``: a Ray cluster, given its address (``ray://host:10001`` or ``auto``); needs
  ``pip install 'recsys-workbench[ray]'``.

The tasks are the same on every backend, so scores, run folders and resume do not depend on
where they ran. Models that cannot run in a worker (`Model.can_fork` False) stay in the main
process on every backend. Live progress: epochs travel through a manager queue (local), a
`distributed.Queue` (dask), or not at all (ray: tasks are reported as they finish).
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from workbench.errors import MissingDependency, ParamError

BACKENDS = ("local", "dask", "ray")
HINTS = {
    "dask": "pip install 'recsys-workbench[dask]'",
    "ray": "pip install 'recsys-workbench[ray]'",
}
MODULES = {"dask": "distributed", "ray": "ray"}


@dataclass(frozen=True)
class Backend:
    """A parallel backend: ``name`` (local, dask, ray) and the cluster's ``address``."""

    name: str = "local"
    address: str | None = None

    @property
    def is_local(self) -> bool:
        return self.name == "local"

    def describe(self) -> str:
        return self.name if self.address is None else f"{self.name} at {self.address}"


def resolve_backend(backend: Any = None, scheduler: str | None = None) -> Backend:
    """A `Backend` from a name (``"local"``, ``"loky"``, ``"dask"``, ``"ray"``) or a `Backend`,
    and the scheduler address; checks that the backend's package is installed."""
    if isinstance(backend, Backend):
        if scheduler is not None and scheduler != backend.address:
            raise ParamError("give the scheduler address once (in the Backend or as scheduler)")
        return _checked(backend)
    name = "local" if backend in (None, "", "loky") else str(backend).strip().lower()
    if name not in BACKENDS:
        raise ParamError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if name == "local" and scheduler is not None:
        raise ParamError("--scheduler needs --backend dask or ray (local runs have no scheduler)")
    if name == "dask" and not scheduler:
        raise ParamError(
            "backend 'dask' needs the scheduler address, e.g. --scheduler tcp://127.0.0.1:8786"
        )
    return _checked(Backend(name, scheduler or None))


def _checked(backend: Backend) -> Backend:
    module = MODULES.get(backend.name)
    if module is not None and importlib.util.find_spec(module) is None:
        raise MissingDependency(module, HINTS[backend.name])
    return backend


def n_jobs_for(backend: Backend, jobs: int) -> int:
    """joblib's ``n_jobs``: on a cluster, ``jobs=1`` (the default) means every worker."""
    if not backend.is_local and jobs == 1:
        return -1
    return jobs


@contextlib.contextmanager
def joblib_backend(backend: Backend) -> Iterator[Any]:
    """Configure joblib for ``backend`` for the duration; yields the event channel factory's
    client (the dask `Client`, or None)."""
    from joblib import parallel_config

    if backend.is_local:
        with parallel_config(backend="loky", inner_max_num_threads=1):
            yield None
        return
    if backend.name == "dask":
        from distributed import Client

        with (
            Client(backend.address, set_as_default=False) as client,
            client.as_current(),
            parallel_config(backend="dask"),
        ):
            yield client
        return
    import ray
    from ray.util.joblib import register_ray

    started = not ray.is_initialized()
    if started:
        ray.init(address=backend.address or "auto", log_to_driver=False)
    register_ray()
    try:
        with parallel_config(backend="ray"):
            yield None
    finally:
        if started:
            ray.shutdown()


class DaskEvents:
    """Progress events from dask workers: a `distributed.Queue` on the scheduler, read by a
    thread in the main process (picklable: workers put into it by name)."""

    def __init__(self, client: Any) -> None:
        from distributed import Queue

        self.queue = Queue(client=client)

    def put(self, event: tuple) -> None:
        try:
            self.queue.put(event)
        except Exception:  # noqa: BLE001 - a lost progress event must not fail the task
            return

    def get(self) -> Any:
        return self.queue.get()
