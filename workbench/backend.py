"""The execution backend contract: where the (model, fold) tasks of compare and tune run.

A backend runs a batch of independent tasks and yields each result the moment it finishes
(the run folder writes it at once), never more than the concurrency cap at a time, and
cancels what is still running when the caller stops (Ctrl-C, an error). It may offer a queue
for live progress events, and says whether a model that cannot fork (`Model.can_fork`
False: CUDA, a Spark session) must stay in the main process. The tasks are the same on every
backend, so scores, run folders and resume do not depend on where they ran.

The runner (`workbench.experiments.runner`) drives it::

    with backend.connect():                       # a session for the duration
        with backend.events() as queue:           # None: no live progress
            for result in backend.map_unordered(run_task, items, jobs): ...

Backends register with the ``register_backends`` hook (docs/hooks.md): ``local`` (serial or
loky worker processes) comes from the built-in ``workbench_search`` plugin, ``dask`` and
``ray`` from ``workbench_cluster``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from workbench.component import Component
from workbench.errors import ParamError


class Backend(Component):
    """Runs independent tasks and yields their results as they finish."""

    kind: ClassVar[str] = "backend"
    #: True: a cluster (every task goes to it, ``jobs=1`` means every worker); False: this
    #: machine (one task, or ``jobs=1``, runs in the main process without a pool).
    remote: ClassVar[bool] = False

    def describe(self) -> str:
        """How messages name it (``dask at tcp://host:8786``)."""
        address = getattr(self.params, "address", None)
        return self.name if address is None else f"{self.name} at {address}"

    def n_jobs(self, jobs: int) -> int:
        """The concurrency cap for ``--jobs`` (-1: as many as the backend offers)."""
        return -1 if self.remote and jobs == 1 else jobs

    def use_pool(self, n_tasks: int, jobs: int) -> bool:
        """Whether ``n_tasks`` tasks go to workers; False runs them here, one by one."""
        if self.remote:
            return n_tasks >= 1
        return n_tasks > 1 and jobs != 1

    def in_main_process(self, model: Any) -> bool:
        """Whether ``model``'s tasks must run in the main process (it cannot be forked)."""
        return not model.can_fork()

    @contextlib.contextmanager
    def connect(self) -> Iterator[None]:
        """A session for the duration (a cluster client); the default needs none."""
        yield

    @contextlib.contextmanager
    def events(self) -> Iterator[Any]:
        """Inside `connect`: a picklable queue (``put``/``get``) workers send progress events
        through, or None; it is closed after. Raising here only costs live progress."""
        yield None

    def map_unordered(
        self, func: Callable[..., Any], items: list[tuple], jobs: int
    ) -> Iterator[Any]:
        """``func(*item)`` for every item, at most ``n_jobs(jobs)`` at a time, yielding each
        result as it finishes; tasks still running when the caller stops are cancelled."""
        raise NotImplementedError


def resolve_backend(backend: Any = None, scheduler: str | None = None) -> Backend:
    """A `Backend` from a registered name or spec (``"dask address=tcp://h:8786"``; None: the
    plugins' default, ``local``) or an instance, with the cluster's ``scheduler`` address; an
    unknown name is the registry's "did you mean" error."""
    from workbench.plugins import get_registry

    if isinstance(backend, Backend):
        if scheduler is not None and scheduler != getattr(backend.params, "address", None):
            raise ParamError("give the scheduler address once (in the backend or as scheduler)")
        return backend
    from workbench.specs import parse_spec

    registry = get_registry()
    text = backend if backend not in (None, "") else registry.default("backend")
    spec = parse_spec("backend", text)
    cls = registry.get("backend", spec.name.lower())
    params = dict(spec.params)
    if scheduler is not None:
        if "address" not in cls.Params.model_fields:
            raise ParamError(
                f"--scheduler needs --backend dask or ray, or another cluster backend "
                f"(backend '{cls.name}' runs on this machine and has no scheduler)"
            )
        if params.get("address") not in (None, scheduler):
            raise ParamError("give the scheduler address once (in the backend or as scheduler)")
        params["address"] = scheduler
    return registry.create("backend", cls.name, **params)
