"""Running one (model, fold) task, serially or in parallel worker processes.

A task clones the model, sets its per-fold seed, fits it with a callback that records the
learning curve (and forwards progress), then evaluates it; fit and evaluation are timed
separately. Tasks run on a registered `workbench.backend.Backend`: the main process or local
worker processes (loky) by default, or a Dask / Ray cluster (plugin ``workbench_cluster``);
each pooled task runs with one BLAS/OpenMP/numba thread (`threadpoolctl`), so a task computes
the same numbers in a worker as in the main process. Progress events travel back through the
backend's queue (`Backend.events`), drained by a thread here.
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

from workbench.backend import Backend
from workbench.errors import WorkbenchError
from workbench.experiments.runfolder import RunFolder
from workbench.jsonvalues import normalise
from workbench.metric import Metric
from workbench.model import EpochInfo, Model
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

    def skipped(self, n: int) -> None:
        """``n`` (model, fold) tasks of the total will not run (a pruned candidate's folds)."""

    def close(self) -> None:
        """The run ended (also after an interruption)."""


# -- JIT warm-up ------------------------------------------------------------------------------
#: Rows of the training data a warm-up fit sees (in a compact id space: cheap for any model).
WARM_UP_ROWS = 2000
_WARMED: set[type] = set()


@functools.cache
def needs_warm_up(cls: type) -> bool:
    """Whether ``cls`` gets a warm-up fit: what it declares (``Capabilities.jit_warm_up``;
    other models are never fitted more often than asked: a fit may have side effects)."""
    return bool(getattr(getattr(cls, "capabilities", None), "jit_warm_up", False))


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
    if limit_threads:  # a pooled task: one thread of each kind (numba, BLAS, torch)
        from workbench.threads import task_threads

        with task_threads(1):
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

    from workbench.errors import WorkbenchWarning
    from workbench.plugins import get_loaded, one_line

    loaded = get_loaded()
    dists = {s.name: s.distribution for s in loaded.registry.statuses}
    run = {**record, "run_dir": str(folder.path) if folder else None}
    # Each listener separately: one that raises (or calls sys.exit) must neither stop the run
    # nor the others; the CLI prints the warning as one "warning:" line.
    for impl in loaded.pm.hook.on_run_finished.get_hookimpls():
        try:
            impl.function(**{a: run for a in impl.argnames})
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - must not stop the run
            dist = dists.get(impl.plugin_name)
            owner = f"plugin '{impl.plugin_name}'" + (f" ({dist})" if dist else "")
            warnings.warn(
                f"{owner}: on_run_finished failed: {one_line(exc)}",
                WorkbenchWarning,
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
    backend: Backend,
) -> None:
    """Run ``tasks`` on ``backend`` with at most ``jobs`` at a time, handing each record to
    ``finish`` as it comes; tasks of models the backend keeps in the main process (they
    cannot be forked: CUDA, a Spark session, a large shared resource) run here after the
    others, and the progress is told so. A backend that would not pool these tasks (local,
    ``jobs=1`` or a single task) runs them all here, one by one."""
    direct = Direct(progress) if progress is not None else None
    if not backend.use_pool(len(tasks), jobs):
        for task in tasks:
            finish(run_task(task, direct))
        return
    main = [t for t in tasks if backend.in_main_process(t.model)]
    pooled = [t for t in tasks if not backend.in_main_process(t.model)]
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
    if backend.use_pool(len(pooled), jobs):
        _run_pool(pooled, jobs, progress, finish, backend)
    else:
        main = pooled + main
    for task in main:
        finish(run_task(task, direct))


def _run_pool(
    tasks: list[Task], jobs: int, progress: Progress | None, finish: Any, backend: Backend
) -> None:
    if progress is not None and backend.remote:
        progress.note(f"running {len(tasks)} task(s) on {backend.describe()}")
    with backend.connect(), _event_channel(backend, progress) as queue:
        items = [(task, queue, True) for task in tasks]
        # closed on any exception (Ctrl-C, SIGTERM, a full disk): the backend stops its
        # workers at once instead of when the stream is garbage collected
        with contextlib.closing(backend.map_unordered(run_task, items, jobs)) as stream:
            for record in stream:
                finish(record)


@contextlib.contextmanager
def _event_channel(backend: Backend, progress: Progress | None) -> Iterator[Any]:
    """The backend's queue workers put progress events into, drained into ``progress`` by a
    thread here (None: no live events; tasks are still reported as they finish)."""
    import threading

    if progress is None:
        yield None
        return
    with contextlib.ExitStack() as stack:
        try:
            queue = stack.enter_context(backend.events())
        except Exception as exc:  # noqa: BLE001 - progress degrades, the run goes on
            progress.note(f"no live training progress on {backend.describe()} ({exc})")
            queue = None
        if queue is None:
            yield None
            return
        thread = threading.Thread(target=_drain, args=(queue, progress), daemon=True)
        thread.start()
        try:
            yield queue
        finally:
            queue.put(None)
            thread.join(timeout=5)
