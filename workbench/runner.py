"""Running one (model, fold) task, serially or in parallel worker processes.

A task clones the model, sets its per-fold seed, fits it with a callback that records the
learning curve (and forwards progress), then evaluates it; fit and evaluation are timed
separately. Parallel runs use a joblib backend (`workbench.backends`): local worker processes
(loky) by default, or a Dask / Ray cluster; each task runs with one BLAS/OpenMP/numba thread
(``inner_max_num_threads=1`` locally, plus `threadpoolctl` everywhere), so a task computes the
same numbers in a worker as in the main process. Progress events travel back through a manager
queue (local), a `distributed.Queue` (dask), or not at all (ray: tasks reported as they end).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.backends import Backend
from workbench.errors import WorkbenchError
from workbench.jsonvalues import normalise
from workbench.metric import Metric
from workbench.model import EpochInfo, Model
from workbench.runfolder import RunFolder
from workbench.splits import Split

#: Key of a record's per-user DataFrame (taken out before the record is written as JSON).
PER_USER_KEY = "_per_user"


class Progress:
    """Receives a run's progress events; subclass and override what you need.

    In parallel runs ``task_started`` and ``epoch`` arrive from a helper thread.
    """

    def start(self, total: int, done: int) -> None:
        """The run starts: ``total`` (model, fold) tasks, ``done`` of them already finished."""

    def task_started(self, label: str, fold: int) -> None:
        """A (model, fold) task starts training."""

    def epoch(self, label: str, fold: int, info: EpochInfo) -> None:
        """A model finished a training epoch (``info.loss`` is the current loss)."""

    def task_finished(self, record: Mapping[str, Any]) -> None:
        """A task finished (``record["error"]`` is set when it failed) and is on disk."""

    def note(self, text: str) -> None:
        """Something the user should know about how the run is carried out."""

    def close(self) -> None:
        """The run ended (also after an interruption)."""


# -- JIT warm-up ------------------------------------------------------------------------------
#: Rows of the training data a warm-up fit sees (in a compact id space: cheap for any model).
WARM_UP_ROWS = 2000
_WARMED: set[type] = set()


@functools.cache
def needs_warm_up(cls: type) -> bool:
    """Whether ``cls`` gets a warm-up fit: its ``jit_warm_up`` attribute where it sets one,
    else whether the package it comes from uses numba (other models are never fitted
    more often than asked: a fit may have side effects)."""
    declared = getattr(cls, "jit_warm_up", None)
    if isinstance(declared, bool):
        return declared
    import importlib.util
    from pathlib import Path

    top = cls.__module__.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    if spec.submodule_search_locations:
        files = [f for d in spec.submodule_search_locations for f in Path(d).rglob("*.py")]
    else:
        files = [Path(spec.origin)] if spec.origin else []
    for file in files[:500]:
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "import numba" in text or "from numba" in text:
            return True
    return False


def warm_up(model: Model, train: Any) -> float:
    """Fit a copy of ``model`` once per model class and process on a small slice of
    ``train``, so one-off costs (numba's JIT compilation above all) are not counted in the
    timed fit. Returns the seconds it took (0.0 when the class has run in this process).
    A warm-up that fails is ignored: the real fit reports its own errors."""
    import warnings

    from workbench.data import Interactions

    cls = type(model)
    if cls in _WARMED or len(train) == 0 or not needs_warm_up(cls):
        return 0.0
    _WARMED.add(cls)
    started = time.perf_counter()
    try:
        part = train.subset(np.arange(min(len(train), WARM_UP_ROWS))).to_pandas()
        small = Interactions.from_pandas(
            part,
            value="value",
            timestamp="timestamp" if "timestamp" in part.columns else None,
            kind=train.kind,
            rating_scale=train.rating_scale,
            name=train.name,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.clone().fit(small)
    except Exception:  # noqa: BLE001 - only a warm-up
        pass
    return time.perf_counter() - started


# -- one task ---------------------------------------------------------------------------------
@dataclass
class Task:
    """One (model, fold): the prototype model, its seed (None: keep its own) and the split."""

    label: str
    fold: int
    model: Model
    seed: int | None
    split: Split
    metrics: list[Metric]
    protocol: Any
    validation: bool
    per_user: bool = False


class Direct:
    """Forwards worker events straight to a `Progress` (serial runs)."""

    def __init__(self, progress: Progress):
        self.progress = progress

    def put(self, event: tuple) -> None:
        _dispatch(self.progress, event)


def _dispatch(progress: Progress, event: tuple) -> None:
    if event[0] == "start":
        progress.task_started(event[1], event[2])
    elif event[0] == "epoch":
        _, label, fold, epoch, n_epochs, loss, seconds = event
        progress.epoch(label, fold, EpochInfo(epoch, n_epochs, loss, seconds=seconds))


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif value is None or isinstance(value, str | bool | int | float | np.generic):
        out[prefix] = value.item() if isinstance(value, np.generic) else value
    else:
        out[prefix] = str(value)


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def run_task(task: Task, events: Any = None, limit_threads: bool = False) -> dict[str, Any]:
    """Fit and evaluate one (model, fold); returns its record (``error`` set on failure)."""
    if limit_threads:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return _execute(task, events)
    return _execute(task, events)


def _execute(task: Task, events: Any) -> dict[str, Any]:
    from workbench.evaluation import evaluate

    model = task.model.clone()
    if task.seed is not None:
        model.set_params(seed=task.seed)
    curve: list[dict[str, Any]] = []

    def callback(info: EpochInfo) -> None:
        point = {"epoch": int(info.epoch), "loss": float(info.loss), "seconds": float(info.seconds)}
        point.update({str(k): float(v) for k, v in (info.validation or {}).items()})
        curve.append(point)
        if events is not None:
            events.put(
                (
                    "epoch",
                    task.label,
                    task.fold,
                    info.epoch,
                    info.n_epochs,
                    float(info.loss),
                    float(info.seconds),
                )
            )

    if events is not None:
        events.put(("start", task.label, task.fold))
    split = task.split
    record: dict[str, Any] = {
        "model": task.label,
        "model_name": model.name or type(model).__name__,
        "fold": task.fold,
        "params": normalise(model.get_params()),
        "seed": task.seed,
    }
    _flat("", {k: v for k, v in split.describe().items() if k != "fold"}, record)
    record["compile_seconds"] = warm_up(model, split.train)  # not part of fit_seconds
    started = time.perf_counter()
    try:
        model.fit(
            split.train, callback=callback, validation=split.test if task.validation else None
        )
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        result = evaluate(model, split, task.metrics, task.protocol, per_user=task.per_user)
        eval_seconds = time.perf_counter() - started
    except WorkbenchError as exc:
        record.update(
            scores={},
            fit_seconds=time.perf_counter() - started,
            predict_seconds=math.nan,
            curve=curve,
            error=f"{type(exc).__name__}: {exc}",
            finished=now(),
        )
        return record
    diagnostics: dict[str, Any] = {}
    _flat("", result.diagnostics, diagnostics)
    for key in ("model", "model_name", "fold", "params", "seed", "scores", "curve", "error"):
        diagnostics.pop(key, None)
    record.update(diagnostics)
    record.update(
        scores={k: float(v) for k, v in result.scores.items()},
        fit_seconds=fit_seconds,
        predict_seconds=float(diagnostics.get("predict_seconds", eval_seconds)),
        eval_seconds=eval_seconds,
        curve=curve,
        error=None,
        finished=now(),
    )
    if task.per_user and result.per_user is not None:
        record[PER_USER_KEY] = result.per_user
    return record


# -- running ----------------------------------------------------------------------------------
def fire_hook(record: Mapping[str, Any], folder: RunFolder | None) -> None:
    import warnings

    from workbench.plugins import get_loaded

    run = {**record, "run_dir": str(folder.path) if folder else None}
    # Each listener separately: one that raises must neither stop the run nor the others.
    for impl in get_loaded().pm.hook.on_run_finished.get_hookimpls():
        try:
            impl.function(**{a: run for a in impl.argnames})
        except Exception as exc:  # noqa: BLE001 - a plugin's listener must not stop the run
            warnings.warn(
                f"plugin '{impl.plugin_name}': on_run_finished failed: {type(exc).__name__}: {exc}",
                stacklevel=2,
            )


def _drain(queue: Any, progress: Progress) -> None:
    while True:
        event = queue.get()
        if event is None:
            return
        try:
            _dispatch(progress, event)
        except Exception:  # noqa: BLE001 - a display problem must not stop the run
            continue


def run_parallel(
    tasks: list[Task],
    jobs: int,
    progress: Progress | None,
    finish: Any,
    backend: Backend | None = None,
) -> None:
    """Run ``tasks`` in ``jobs`` workers of ``backend`` (default: local processes); tasks of
    models that cannot be forked (`Model.can_fork` is False: CUDA, a Spark session, a large
    shared resource) run in this process after the others, and the progress is told so."""
    backend = backend or Backend()
    main = [t for t in tasks if not t.model.can_fork()]
    pooled = [t for t in tasks if t.model.can_fork()]
    if main:
        labels = sorted({t.label for t in main})
        message = (
            f"{', '.join(labels)}: cannot run in a worker process; "
            f"{len(main)} task(s) run in the main process"
        )
        if progress is not None:
            progress.note(message)
        else:
            import warnings

            warnings.warn(message, stacklevel=2)
    if len(pooled) > 1 or (pooled and not backend.is_local):
        _run_pool(pooled, jobs, progress, finish, backend)
    else:
        main = pooled + main
    direct = Direct(progress) if progress is not None else None
    for task in main:
        finish(run_task(task, direct))


def _run_pool(
    tasks: list[Task], jobs: int, progress: Progress | None, finish: Any, backend: Backend
) -> None:
    from joblib import Parallel, delayed

    from workbench.backends import joblib_backend, n_jobs_for

    if progress is not None and not backend.is_local:
        progress.note(f"running {len(tasks)} task(s) on {backend.describe()}")
    if backend.name == "ray":
        from workbench.backends import ray_session, ray_unordered

        with ray_session(backend), _event_channel(backend, None, progress) as queue:
            items = [(task, queue, True) for task in tasks]
            for record in ray_unordered(run_task, items, n_jobs_for(backend, jobs)):
                finish(record)
        return
    with joblib_backend(backend) as client, _event_channel(backend, client, progress) as queue:
        results = Parallel(n_jobs=n_jobs_for(backend, jobs), return_as="generator_unordered")(
            delayed(run_task)(task, queue, True) for task in tasks
        )
        try:
            for record in results:
                finish(record)
        except BaseException:  # Ctrl-C, SIGTERM, a full disk: stop the workers now
            _close_quietly(results)
            raise


def _close_quietly(results: Any) -> None:
    """Close a joblib result generator: joblib then kills the workers at once (instead of
    when the generator is garbage collected, while the worker processes keep running and
    hold the terminal), without its warning about unused results."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results.close()


@contextlib.contextmanager
def _event_channel(backend: Backend, client: Any, progress: Progress | None) -> Iterator[Any]:
    """A queue workers put progress events into, drained into ``progress`` by a thread here
    (None: no live events; tasks are still reported as they finish)."""
    import threading

    if progress is None:
        yield None
        return
    manager = None
    try:
        if backend.is_local:
            import multiprocessing

            manager = multiprocessing.Manager()
            queue: Any = manager.Queue()
        elif backend.name == "dask":
            from workbench.backends import DaskEvents

            queue = DaskEvents(client)
        elif backend.name == "ray":
            from workbench.backends import RayEvents

            queue = RayEvents()
        else:
            raise WorkbenchError(f"no live progress channel on {backend.name}")
    except Exception as exc:  # noqa: BLE001 - progress degrades, the run goes on
        progress.note(f"no live training progress on {backend.describe()} ({exc})")
        yield None
        return
    thread = threading.Thread(target=_drain, args=(queue, progress), daemon=True)
    thread.start()
    try:
        yield queue
    finally:
        try:
            queue.put(None)
            thread.join(timeout=5)
        finally:
            if manager is not None:
                manager.shutdown()
            if backend.name == "ray":
                queue.shutdown()
