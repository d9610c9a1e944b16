"""The ``tpe`` search strategy of `workbench tune`: an Optuna study, pruned fold by fold.

Optuna (optional: ``pip install 'recsys-workbench[optuna]'``) proposes each candidate with its
TPE sampler, seeded from the run seed, from the same search space as grid and random search
(`workbench.search_space`: a list becomes a categorical choice, a range ``suggest_float`` /
``suggest_int``, log scale kept). Every candidate runs fold by fold; after each fold its
running mean is reported to a median pruner, which stops candidates that are worse than the
median of earlier ones at the same fold (the first ``n_startup`` candidates always finish).

With a run folder the study lives in ``optuna.journal`` beside ``results.jsonl`` (Optuna's
journal file storage): ``resume`` reloads it, continues the search where it stopped and
reruns only the missing folds. ``jobs > 1`` runs that many candidates side by side, one fold
at a time, so pruning still applies. Each finished (model, fold) is a record like any
comparison's, so the ranking table, ``best.json``, reports and the ``on_run_finished`` hook
are the same as for grid search.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.errors import MissingDependency, ParamError, WorkbenchError
from workbench.runner import Progress

HINT = "pip install 'recsys-workbench[optuna]'"
JOURNAL = "optuna.journal"
STUDY = "tune"
#: Candidates that always run every fold before the pruner compares against them.
N_STARTUP = 3


def require_optuna() -> Any:
    """The ``optuna`` module, or `MissingDependency` with the install hint."""
    try:
        import optuna
    except ImportError:
        raise MissingDependency("optuna", HINT) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def suggest(trial: Any, dim: Any) -> Any:
    """One value of dimension ``dim`` (`workbench.search_space.Dimension`) from a trial."""
    if not dim.is_range:
        values = list(dim.values or ())
        if not all(v is None or isinstance(v, bool | int | float | str) for v in values):
            values = [str(v) for v in values]
        return trial.suggest_categorical(dim.name, values)
    if dim.integer:
        return trial.suggest_int(dim.name, int(round(dim.low)), int(round(dim.high)), log=dim.log)
    return trial.suggest_float(dim.name, float(dim.low), float(dim.high), log=dim.log)


class _Forward(Progress):
    """Passes a batch's events to the run's progress, without restarting or closing it."""

    def __init__(self, progress: Progress):
        self.inner = progress

    def task_started(self, label: str, fold: int) -> None:
        self.inner.task_started(label, fold)

    def epoch(self, label: str, fold: int, info: Any) -> None:
        self.inner.epoch(label, fold, info)

    def task_finished(self, record: Mapping[str, Any]) -> None:
        self.inner.task_finished(record)

    def note(self, text: str) -> None:
        self.inner.note(text)


def _counted(study: Any, optuna: Any) -> int:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


def run_tpe(
    data: Any,
    splitter: Any,
    name: str,
    fixed: Mapping[str, Any],
    dims: Sequence[Any],
    metrics: list[Any],
    info: dict[str, Any],
    *,
    n_iter: int,
    seed: int,
    jobs: int,
    run_dir: str | Path | None,
    resume: bool,
    progress: Progress | None,
    protocol: Any,
    backend: Any = None,
) -> Any:
    """Run (or resume) a TPE study; returns the comparison's `Results` (kind ``tune``).

    ``metrics``: the ranking metric first; ``info``: the run's ``tune`` metadata;
    ``backend``: where each batch's tasks run (a `workbench.backends.Backend`; None: here
    and local processes)."""
    optuna = require_optuna()
    from workbench.evaluation import check_metrics_fit
    from workbench.experiment import _metadata, _run_tasks, build_results
    from workbench.resolve import (
        ModelEntry,
        derive_seed,
        registry,
        resolve_data,
        resolve_metrics,
        resolve_protocol,
        resolve_splitter,
    )
    from workbench.runfolder import RunFolder
    from workbench.runner import Task
    from workbench.splits import Splitter

    if n_iter < 1:
        raise ParamError(f"tpe search: n_iter must be >= 1, got {n_iter}")
    data_obj, data_request = resolve_data(data)
    metric_objs = resolve_metrics(metrics, data_obj)
    check_metrics_fit(metric_objs, data_obj)
    cls = registry().get("model", name)
    split_obj = resolve_splitter(splitter, seed, role="folds")
    proto = resolve_protocol(protocol, seed)
    splits = list(split_obj.split(data_obj)) if isinstance(split_obj, Splitter) else split_obj
    if not splits:
        raise WorkbenchError("the splitter produced no splits")
    seeded = "seed" in fixed
    has_seed = "seed" in cls.Params.model_fields
    meta = _metadata(
        "tune", data_obj, data_request, split_obj, len(splits), proto, [], metric_objs, seed,
        {"validation": False, "per_user": False, "tune": info},
    )  # fmt: skip
    folder = None
    if run_dir is not None:
        if resume and (Path(run_dir) / "metadata.json").exists():
            # the candidates are outcomes of the search, not part of the request
            meta["models"] = RunFolder(run_dir).read_metadata().get("models", [])
        folder = RunFolder.start(run_dir, meta, resume=resume)
        meta["run_dir"] = str(folder.path)
    higher = bool(metric_objs[0].higher_is_better)
    main = metric_objs[0].label
    try:
        storage = None
        if folder is not None:
            from optuna.storages.journal import JournalFileBackend, JournalStorage

            storage = JournalStorage(JournalFileBackend(str(folder.path / JOURNAL)))
        study = optuna.create_study(
            storage=storage,
            study_name=STUDY,
            load_if_exists=True,
            direction="maximize" if higher else "minimize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=N_STARTUP, n_warmup_steps=0),
        )
        # trials cut short by an interruption cannot continue: close them as failed
        for old in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study.tell(old.number, state=optuna.trial.TrialState.FAIL)
        total = n_iter * len(splits)
        if progress is not None:
            progress.start(total, min(total, _counted(study, optuna) * len(splits)))
        forward = _Forward(progress) if progress is not None else None
        frames: dict = {}
        fresh: list[dict[str, Any]] = []
        batch = jobs if jobs > 0 else (os.cpu_count() or 1)
        width = len(str(n_iter))  # labels sort like grid search's: sgd#01 ... sgd#16
        while _counted(study, optuna) < n_iter:
            trials, entries = [], []
            for _ in range(min(batch, n_iter - _counted(study, optuna))):
                trial = study.ask()
                params = {d.name: suggest(trial, d) for d in dims}
                try:
                    model = cls(**fixed, **params)
                except WorkbenchError:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    raise
                label = f"{name}#{trial.number + 1:0{width}d}"
                trials.append(trial)
                entries.append(ModelEntry(label, model, seeded))
            meta["models"] = [*meta["models"], *(e.spec() for e in entries)]
            if folder is not None:
                folder.write_metadata({k: v for k, v in meta.items() if k != "run_dir"})
            alive = dict(enumerate(trials))
            means: dict[int, list[float]] = {i: [] for i in alive}
            for fold, split in enumerate(splits):
                tasks = [
                    Task(
                        label=entries[i].label,
                        fold=fold,
                        model=entries[i].model,
                        seed=None if seeded or not has_seed else derive_seed(seed, fold),
                        split=split,
                        metrics=metric_objs,
                        protocol=proto,
                        validation=False,
                    )
                    for i in alive
                ]
                records = _run_tasks(tasks, len(tasks), jobs, forward, folder, frames, backend)
                fresh.extend(records)
                by_label = {r["model"]: r for r in records}
                for i in list(alive):
                    rec = by_label.get(entries[i].label)
                    if rec is None or rec.get("error") or main not in (rec.get("scores") or {}):
                        study.tell(alive.pop(i), state=optuna.trial.TrialState.FAIL)
                        continue
                    means[i].append(float(rec["scores"][main]))
                    trial = alive[i]
                    trial.report(sum(means[i]) / len(means[i]), fold)
                    if fold + 1 < len(splits) and trial.should_prune():
                        study.tell(alive.pop(i), state=optuna.trial.TrialState.PRUNED)
            for i, trial in alive.items():
                study.tell(trial, sum(means[i]) / len(means[i]))
    finally:
        if progress is not None:
            progress.close()
        if folder is not None:
            folder.unlock()
    return build_results(folder.records() if folder is not None else fresh, meta)
