"""The experiment runner: compare models over folds, tune one, keep every result on disk.

`compare` trains every model on every fold of one split of one dataset, evaluates each with
`workbench.evaluation.evaluate` and returns `Results`. With ``run_dir`` each finished
(model, fold) result is appended to ``results.jsonl`` the moment it exists (see
`workbench.runfolder`), so Ctrl-C or a crash keeps everything that finished; ``resume=True``
runs only what is missing, and `load_run` rebuilds the results without training.

Seeds: the run ``seed`` goes to the splitter (when it has a ``seed`` parameter the spec did
not set) and to the protocol; every model with a ``seed`` parameter gets a per-fold seed
derived from (run seed, fold) unless its spec sets ``seed`` explicitly. Each (model, fold)
task therefore runs the same in any order or process: ``jobs=N`` (joblib/loky, one BLAS and
numba thread per worker) gives the same scores as a serial run.

`tune` (in `workbench.tuning`, re-exported here) is a grid or random search over a parameter
space (`workbench.search_space`) run as a comparison of the candidates, ranked by one metric.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.analysis import activity_buckets, activity_records
from workbench.backends import Backend, resolve_backend
from workbench.data import Interactions
from workbench.data_notes import data_facts
from workbench.errors import DataError, ParamError, WorkbenchError
from workbench.evaluation import Protocol, check_metrics_fit
from workbench.jsonvalues import normalise
from workbench.metric import Metric
from workbench.resolve import (
    ModelEntry,
    check_models_fit,
    derive_seed,
    registry,
    resolve_data,
    resolve_metrics,
    resolve_models,
    resolve_protocol,
    resolve_splitter,
    splitter_info,
    versions,
)
from workbench.results import Results
from workbench.runfolder import RunFolder
from workbench.runner import (
    PER_USER_KEY,
    Direct,
    Progress,
    Task,
    fire_hook,
    now,
    run_parallel,
    run_task,
)
from workbench.splits import Split, Splitter
from workbench.stats import significance_records

__all__ = [
    "ModelEntry",
    "Progress",
    "compare",
    "derive_seed",
    "load_run",
    "resolve_models",
]


def _ordered(records: Iterable[Mapping[str, Any]], labels: Sequence[str]) -> list[dict]:
    """The last record per (model, fold), a success preferred, in model then fold order."""
    best: dict[tuple[str, int], dict] = {}
    for rec in records:
        key = (str(rec["model"]), int(rec["fold"]))
        if key in best and not best[key].get("error") and rec.get("error"):
            continue
        best[key] = dict(rec)
    rank = {label: i for i, label in enumerate(labels)}
    return [best[k] for k in sorted(best, key=lambda k: (rank.get(k[0], len(rank)), k[1]))]


def build_results(
    records: Iterable[Mapping[str, Any]],
    metadata: Mapping[str, Any],
    *,
    frames: Mapping[tuple[str, int], pd.DataFrame] | None = None,
    folder: RunFolder | None = None,
) -> Results:
    """`Results` from run records and metadata, with the paired significance tests (and the
    by-activity table when per-user results were kept)."""

    labels = [m["label"] for m in metadata.get("models", [])]
    ordered = _ordered(records, labels)
    meta = dict(metadata)
    meta["errors"] = [
        {"model": r["model"], "fold": r["fold"], "error": r["error"]}
        for r in ordered
        if r.get("error")
    ]
    results = Results.from_records(ordered, meta)
    results.metadata["significance"] = significance_records(results)
    if meta.get("per_user"):
        per_user = per_user_frames(ordered, frames or {}, folder)
        if per_user:
            n_items = (meta.get("dataset") or {}).get("n_items")
            table = activity_buckets(per_user, n_items=n_items)
            results.metadata["activity"] = activity_records(table)
    return results


def per_user_frames(
    records: Sequence[Mapping[str, Any]],
    frames: Mapping[tuple[str, int], pd.DataFrame],
    folder: RunFolder | None,
) -> dict[str, list[pd.DataFrame]]:
    """Per-user results by model label (folds in order), from memory or the run folder."""
    out: dict[str, list[pd.DataFrame]] = {}
    for rec in records:
        key = (str(rec["model"]), int(rec["fold"]))
        frame = frames.get(key)
        if frame is None and folder is not None and rec.get("per_user_file"):
            frame = folder.read_per_user(rec["per_user_file"])
        if frame is not None:
            out.setdefault(key[0], []).append(frame.assign(fold=key[1]))
    return out


def _metadata(
    kind: str,
    data: Interactions,
    data_request: Any,
    splitter: Splitter | list[Split],
    n_splits: int,
    protocol: Any,
    entries: Sequence[ModelEntry],
    metrics: Sequence[Metric],
    seed: int,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "kind": kind,
        "created": now(),
        "seed": seed,
        "dataset": {
            "name": data.name,
            "request": data_request,
            "fingerprint": data.fingerprint(),
            "kind": data.kind,
            "n_users": data.n_users,
            "n_items": data.n_items,
            "n_interactions": len(data),
            "rating_scale": data.rating_scale,
            **data_facts(data),
        },
        "splitter": {**splitter_info(splitter), "n_splits": n_splits},
        "protocol": protocol.as_dict(),
        "models": [e.spec() for e in entries],
        "metrics": [
            {"label": m.label, "name": m.name, "params": normalise(m.get_params())} for m in metrics
        ],
        "higher_is_better": {m.label: bool(m.higher_is_better) for m in metrics},
        "versions": versions(),
        "tune": None,
    }
    meta.update(extra or {})
    return meta


def compare(
    data: Any,
    splitter: Any,
    models: Iterable[Any],
    metrics: Iterable[Any] | None = None,
    *,
    protocol: Any = None,
    seed: int = 0,
    jobs: int = 1,
    run_dir: str | Path | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    validation: bool = False,
    per_user: bool = False,
    backend: Any = None,
    scheduler: str | None = None,
    _kind: str = "compare",
    _extra: Mapping[str, Any] | None = None,
) -> Results:
    """Train and evaluate every model on every fold; returns `Results`.

    - ``data``: `Interactions` or a dataset spec (``"movielens variant=100k"``).
    - ``splitter``: a spec (``"kfold n_folds=5"``), a `Splitter`, or a list of `Split`;
      None: the repeated split a plugin declares (``default="folds"``: 5-fold CV).
    - ``models``: specs, mappings, ``(label, model)`` pairs or `Model` instances (any class,
      registered or not); see `resolve_models` for labels.
    - ``metrics``: specs (``"ndcg@10"``) or `Metric` instances; None: defaults by data kind.
    - ``protocol``: a `workbench.evaluation.Protocol` or a mapping of its fields.
    - ``jobs``: parallel (model, fold) tasks (joblib; -1: every core); same scores as serial.
    - ``backend``/``scheduler``: where parallel tasks run (`workbench.backends`): ``"local"``
      processes (default), ``"dask"`` with the scheduler address (``tcp://host:8786``) or
      ``"ray"`` (``"auto"``, ``"ray://host:10001"``; none: this process's Ray session or a
      new one); on a cluster ``jobs=1`` means every worker. Same scores and run folders.
    - ``run_dir``: keep every finished result there as it completes; ``resume`` runs only
      what is missing (refused if the folder holds a different experiment).
    - ``progress``: a `Progress` receiving events (the CLI passes rich progress bars).
    - ``validation``: pass each fold's test set to ``fit(validation=...)`` so models that
      support it record validation metrics in the learning curves.
    - ``per_user``: also keep per-user results (``per_user/*.parquet`` in the run folder)
      and put the by-activity table (`workbench.analysis`) in ``metadata["activity"]``.
    """

    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ParamError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(jobs, int | np.integer) or jobs == 0 or jobs < -1:
        raise ParamError(f"jobs must be a positive integer or -1 (every core), got {jobs!r}")
    seed, jobs = int(seed), int(jobs)
    where = resolve_backend(backend, scheduler)
    data_obj, data_request = resolve_data(data)
    entries = resolve_models(models)
    metric_objs = resolve_metrics(metrics, data_obj)
    check_metrics_fit(metric_objs, data_obj)
    check_models_fit(entries, data_obj, validation=bool(validation))
    split_obj = resolve_splitter(splitter, seed, role="folds")
    proto = resolve_protocol(protocol, seed)

    splits = list(split_obj.split(data_obj)) if isinstance(split_obj, Splitter) else split_obj
    if not splits:
        raise DataError("the splitter produced no splits")
    meta = _metadata(
        _kind,
        data_obj,
        data_request,
        split_obj,
        len(splits),
        proto,
        entries,
        metric_objs,
        seed,
        {"validation": bool(validation), "per_user": bool(per_user), **(_extra or {})},
    )
    folder = RunFolder.start(run_dir, meta, resume=resume) if run_dir is not None else None
    if folder is not None:
        meta["run_dir"] = str(folder.path)
    frames: dict[tuple[str, int], pd.DataFrame] = {}
    try:
        done = folder.finished() if folder is not None else set()
        tasks = [
            Task(
                label=entry.label,
                fold=fold,
                model=entry.model,
                seed=None
                if entry.seed_fixed or "seed" not in type(entry.model).Params.model_fields
                else derive_seed(seed, fold),
                split=split,
                metrics=metric_objs,
                protocol=proto,
                validation=validation,
                per_user=per_user,
            )
            for fold, split in enumerate(splits)
            for entry in entries
            if (entry.label, fold) not in done
        ]
        fresh = _run_tasks(
            tasks, len(entries) * len(splits), jobs, progress, folder, frames, where
        )
    finally:
        if folder is not None:
            folder.unlock()
    records = folder.records() if folder is not None else fresh
    return build_results(records, meta, frames=frames, folder=folder)


def _run_tasks(
    tasks: list[Task],
    total: int,
    jobs: int,
    progress: Progress | None,
    folder: RunFolder | None,
    frames: dict[tuple[str, int], pd.DataFrame],
    backend: Backend | None = None,
) -> list[dict[str, Any]]:
    """Run the tasks; each finished record goes to disk, the hook and the progress at once."""
    fresh: list[dict[str, Any]] = []

    def finish(record: dict[str, Any]) -> None:
        frame = record.pop(PER_USER_KEY, None)
        if frame is not None:
            frames[(record["model"], int(record["fold"]))] = frame
            if folder is not None:
                record["per_user_file"] = folder.write_per_user(
                    record["model"], record["fold"], frame
                )
        if folder is not None:
            folder.append(record)
        fresh.append(record)
        fire_hook(record, folder)
        if progress is not None:
            progress.task_finished(record)

    if progress is not None:
        progress.start(total, total - len(tasks))
    try:
        local = backend is None or backend.is_local
        if local and (jobs == 1 or len(tasks) <= 1):
            direct = Direct(progress) if progress is not None else None
            for task in tasks:
                finish(run_task(task, direct))
        else:
            run_parallel(tasks, jobs, progress, finish, backend)
    finally:
        if progress is not None:
            progress.close()
    return fresh


def load_run(run_dir: str | Path) -> Results:
    """The `Results` of a run folder (finished tasks only), without training anything."""
    folder = RunFolder(run_dir)
    meta = folder.read_metadata()
    meta["run_dir"] = str(folder.path)
    return build_results(folder.records(), meta, folder=folder)


def request_of(run_dir: str | Path) -> dict[str, Any]:
    """What a run folder asked for, as arguments for `compare` (or `tune`): data, splitter,
    models, metrics, protocol, seed and flags. Models must be registered plugins."""
    folder = RunFolder(run_dir)
    meta = folder.read_metadata()
    folder.records()  # damaged or edited records: refused before the data loads
    data = (meta.get("dataset") or {}).get("request")
    if data is None:
        raise WorkbenchError(
            f"{run_dir}: the data was given as an object, not a dataset spec; resume it from "
            "Python with compare(..., run_dir=..., resume=True) and the same arguments"
        )
    splitter = meta.get("splitter") or {}
    if splitter.get("name") == "given splits":
        raise WorkbenchError(
            f"{run_dir}: the splits were given as objects; resume it from Python with "
            "compare(..., resume=True) and the same splits"
        )

    request: dict[str, Any] = {
        "kind": meta.get("kind", "compare"),
        "data": data,
        "splitter": {"name": splitter["name"], **(splitter.get("params") or {})},
        "metrics": [{"name": m["name"], **(m.get("params") or {})} for m in meta["metrics"]],
        "protocol": Protocol.from_dict(meta.get("protocol") or {}),
        "seed": int(meta.get("seed", 0)),
        "validation": bool(meta.get("validation")),
        "per_user": bool(meta.get("per_user")),
    }
    models = []
    for m in meta.get("models", []):
        params = dict(m.get("params") or {})
        if not m.get("seed_fixed"):
            params.pop("seed", None)
        try:
            cls = registry().get("model", m["name"])
        except WorkbenchError as exc:
            raise WorkbenchError(f"{run_dir}: cannot rebuild model '{m['label']}': {exc}") from None
        models.append(ModelEntry(m["label"], cls(**params), bool(m.get("seed_fixed"))))
    request["models"] = models
    request["tune"] = meta.get("tune")
    return request


def resume_compare(
    run_dir: str | Path,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
    backend: Any = None,
    scheduler: str | None = None,
) -> Results:
    """Finish a comparison's run folder from its own metadata; returns `Results`.
    ``backend``/``scheduler``: where the missing tasks run (as in `compare`).

    `workbench.api.resume_run` finishes any run folder (comparisons and searches)."""
    req = request_of(run_dir)
    if req["kind"] != "compare":
        raise WorkbenchError(
            f"{run_dir} is a {req['kind']} run: resume it with workbench.resume_run "
            "(or workbench.tuning.resume_tune)"
        )
    return compare(
        req["data"],
        req["splitter"],
        req["models"],
        req["metrics"],
        protocol=req["protocol"],
        seed=req["seed"],
        jobs=jobs,
        run_dir=run_dir,
        resume=True,
        progress=progress,
        validation=req["validation"],
        per_user=req["per_user"],
        backend=backend,
        scheduler=scheduler,
    )
