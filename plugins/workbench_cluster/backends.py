"""The cluster backends of `compare` and `tune`: Dask and Ray (`workbench.backend.Backend`).

- ``dask``: a `dask.distributed` cluster, given its scheduler address
  (``tcp://host:8786``); needs ``pip install 'recsys-workbench[dask]'``.
- ``ray``: a Ray cluster, given its address (``ray://host:10001`` or ``auto``); needs
  ``pip install 'recsys-workbench[ray]'``.

The tasks are the same on every backend, so scores, run folders and resume do not depend on
where they ran. Models that cannot run in a worker (`Model.can_fork` False) stay in the main
process. Live progress: epochs travel through a `distributed.Queue` (dask) or a
`ray.util.queue.Queue` (ray). Ray runs the tasks itself
(`ray_unordered`), not through joblib: joblib's Ray backend cannot hand results back as they
finish, which the run folder needs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from workbench.backend import Backend
from workbench.errors import ClusterError, MissingDependency, ParamError
from workbench.params import Params

HINTS = {
    "dask": "pip install 'recsys-workbench[dask]'",
    "ray": "pip install 'recsys-workbench[ray]'",
}
MODULES = {"dask": "distributed", "ray": "ray"}


def _require(backend: str) -> None:
    """`MissingDependency` with the install hint when ``backend``'s package is missing."""
    module = MODULES[backend]
    spec = importlib.util.find_spec(module)
    # a bare folder of that name (a namespace package: Ray's session folder /tmp/ray when
    # Python runs in /tmp) is not the package
    if spec is None or spec.origin in (None, "namespace"):
        raise MissingDependency(module, HINTS[backend])


class Dask(Backend):
    """A dask.distributed cluster, given its scheduler address (--scheduler tcp://HOST:8786)."""

    name = "dask"
    remote = True

    class Params(Params):
        address: str | None = Field(
            None, description="The scheduler's address, e.g. tcp://127.0.0.1:8786."
        )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if not self.params.address:
            raise ParamError(
                "backend 'dask' needs the scheduler address, e.g. --scheduler tcp://127.0.0.1:8786"
            )
        _require("dask")

    @contextlib.contextmanager
    def connect(self) -> Iterator[None]:
        from distributed import Client
        from joblib import parallel_config

        with (
            Client(self.params.address, set_as_default=False) as client,
            client.as_current(),
            parallel_config(backend="dask"),
        ):
            self._client = client
            try:
                yield
            finally:
                self._client = None

    @contextlib.contextmanager
    def events(self) -> Iterator[Any]:
        yield DaskEvents(self._client)

    def map_unordered(self, func: Any, items: list[tuple], jobs: int) -> Iterator[Any]:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=self.n_jobs(jobs), return_as="generator_unordered")(
            delayed(func)(*item) for item in items
        )
        yield from results


class Ray(Backend):
    """A Ray cluster (--scheduler auto, HOST:PORT or ray://HOST:10001; none: a local Ray).

    Without an address: this process's Ray session, a running local cluster, or a new local
    Ray instance."""

    name = "ray"
    remote = True

    class Params(Params):
        address: str | None = Field(
            None, description="auto, HOST:PORT or ray://HOST:PORT (none: a local Ray)."
        )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params.address:
            _ray_host_port(self.params.address)
        _require("ray")

    @property
    def address(self) -> str | None:
        return self.params.address

    def connect(self) -> contextlib.AbstractContextManager[None]:
        return ray_session(self)

    @contextlib.contextmanager
    def events(self) -> Iterator[Any]:
        queue = RayEvents()
        try:
            yield queue
        finally:
            queue.shutdown()

    def map_unordered(self, func: Any, items: list[tuple], jobs: int) -> Iterator[Any]:
        return ray_unordered(func, items, self.n_jobs(jobs))


@contextlib.contextmanager
def ray_session(backend: Ray) -> Iterator[None]:
    """Connect to the Ray cluster at ``backend.address`` for the duration (``auto``: the one
    running on this machine; none: this process's Ray session if it has one, else a running
    local cluster, else a new local Ray instance). A session this opened is shut down after;
    one that was already open is left as it was. An unreachable address is a `ClusterError`."""
    import ray

    started = not ray.is_initialized()
    if started:
        _probe(backend.address)
        try:
            ray.init(address=backend.address, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
            message = f"cannot connect to {backend.describe()}: {_first_line(exc)}"
            if "ray client connection timeout" in message:
                message += " (if the cluster uses token authentication, set RAY_AUTH_MODE=token)"
            elif backend.address == "auto":
                message += " (start one with 'ray start --head', or give no scheduler address"
                message += " to start Ray in this process)"
            raise ClusterError(message) from exc
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def _probe(address: str | None, timeout: float = 5.0) -> None:
    """Fail fast (instead of Ray's minute of retries) when ``host:port`` does not answer."""
    import socket

    where = _ray_host_port(address) if address else None
    if where is None:
        return
    try:
        socket.create_connection(where, timeout=timeout).close()
    except OSError as exc:
        raise ClusterError(f"cannot connect to ray at {address}: {exc}") from exc


def _ray_host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a Ray address (``HOST:PORT``, ``ray://HOST:PORT``; None for
    ``auto``); anything else is a `ParamError`."""
    if address == "auto":
        return None
    host, _, port = address.split("://", 1)[-1].rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        raise ParamError(
            f"ray address must be 'auto', HOST:PORT or ray://HOST:PORT, got {address!r}"
        )
    return host, int(port)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def ray_unordered(func: Any, items: list[tuple], jobs: int) -> Iterator[Any]:
    """``func(*item)`` for every item as Ray tasks (one CPU each, at most ``jobs`` at a time;
    -1: as many as the cluster takes), yielding each result as it finishes. Tasks still
    running when the caller stops (Ctrl-C, an error) are cancelled.

    joblib's Ray backend cannot stream results (``return_as="generator_unordered"``), and a
    run folder must get every result the moment it finishes, so Ray tasks are used directly."""
    import ray

    remote = ray.remote(num_cpus=1, max_retries=0)(func)
    limit = len(items) if jobs < 0 else max(1, jobs)
    queued = iter(items)
    pending: list[Any] = []
    try:
        for item in queued:
            pending.append(remote.remote(*item))
            if len(pending) >= limit:
                break
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for item in queued:  # the next task starts before this result is handled
                pending.append(remote.remote(*item))
                break
            yield ray.get(done[0])
    finally:
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)


class _QueueEvents:
    """Progress events through a cluster queue, read by a thread in the main process
    (picklable: tasks put into it by name or handle); a lost event never fails a task."""

    queue: Any

    def put(self, event: tuple) -> None:
        try:
            self.queue.put(event)
        except Exception:  # noqa: BLE001 - a lost progress event must not fail the task
            return

    def get(self) -> Any:
        return self.queue.get()


class DaskEvents(_QueueEvents):
    """Progress events from dask workers: a `distributed.Queue` on the scheduler."""

    def __init__(self, client: Any) -> None:
        from distributed import Queue

        self.queue = Queue(client=client)


class RayEvents(_QueueEvents):
    """Progress events from Ray tasks: a `ray.util.queue.Queue` (an actor)."""

    def __init__(self) -> None:
        from ray.util.queue import Queue

        self.queue = Queue(actor_options={"num_cpus": 0})

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):
            self.queue.shutdown()
