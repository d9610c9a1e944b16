"""The experiment runner: compare models over folds, tune one, keep every result on disk.

`compare` trains every model on every fold of one split of one dataset, evaluates each with
`workbench.evaluation.evaluate` and returns `Results`. With ``run_dir`` each finished
(model, fold) result is appended to ``results.jsonl`` the moment it exists (see
`workbench.experiments.runfolder`), so Ctrl-C or a crash keeps everything that finished;
``resume=True`` runs only what is missing, and `load_run` rebuilds the results without training.

Seeds: the run ``seed`` goes to the splitter (when it has a ``seed`` parameter the spec did
not set) and to the protocol; every model with a ``seed`` parameter gets a per-fold seed
derived from (run seed, fold) unless its spec sets ``seed`` explicitly. Each (model, fold)
task therefore runs the same in any order or process: ``jobs=N`` (joblib/loky, one BLAS and
numba thread per worker) gives the same scores as a serial run.

`compare` and `tune` (`workbench.search.tuning`) share one loop (`workbench.experiments.loop`):
a comparison's models are its candidates, given all at once. Tasks run on a registered
backend (`workbench.backend`; default ``local``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.analysis.activity import activity_buckets, activity_records
from workbench.analysis.data_notes import data_facts
from workbench.analysis.pairwise import per_user_statistics
from workbench.analysis.pairwise import records as json_records
from workbench.analysis.protocol_notes import warn_random_split_of_time
from workbench.analysis.seeds import seed_variance
from workbench.analysis.stats import significance_records
from workbench.data import Interactions
from workbench.errors import DataError, ParamError, WorkbenchError
from workbench.experiments.loop import Given, Loop, Proposer
from workbench.experiments.request import ExperimentRequest, build_request, check_seed
from workbench.experiments.resolve import (
    ModelEntry,
    derive_seed,
    registry,
    resolve_models,
    splitter_info,
    versions,
)
from workbench.experiments.runfolder import RunFolder
from workbench.experiments.runner import Progress, now
from workbench.jsonvalues import normalise
from workbench.metric import Metric
from workbench.protocol import EvaluationProtocol
from workbench.results import Results
from workbench.splits import Split, Splitter

__all__ = [
    "ModelEntry",
    "Progress",
    "compare",
    "derive_seed",
    "load_run",
    "ordered_records",
    "resolve_models",
]


def ordered_records(records: Iterable[Mapping[str, Any]], labels: Sequence[str]) -> list[dict]:
    """The last record per (model, fold), a success preferred, in model then fold order
    (``labels``: the models' order); what `load_run` and exporters show."""
    best: dict[tuple[str, int], dict] = {}
    for rec in records:
        key = (str(rec["model"]), int(rec["fold"]))
        if key in best and not best[key].get("error") and rec.get("error"):
            continue
        best[key] = dict(rec)
    rank = {label: i for i, label in enumerate(labels)}
    return [best[k] for k in sorted(best, key=lambda k: (rank.get(k[0], len(rank)), k[1]))]


_ordered = ordered_records  # the old private name (workbench_mlflow used it)


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
    ordered = ordered_records(records, labels)
    meta = dict(metadata)
    meta["errors"] = [
        {"model": r["model"], "fold": r["fold"], "error": r["error"]}
        for r in ordered
        if r.get("error")
    ]
    results = Results.from_records(ordered, meta)
    results.metadata["significance"] = significance_records(results)
    if meta.get("seed_groups"):
        groups = meta["seed_groups"]
        results.metadata["seed_variance"] = json_records(seed_variance(results, groups))
    if meta.get("per_user"):
        per_user = per_user_frames(ordered, frames or {}, folder)
        if per_user:
            n_items = (meta.get("dataset") or {}).get("n_items")
            table = activity_buckets(per_user, n_items=n_items)
            results.metadata["activity"] = activity_records(table)
            results.metadata.update(per_user_statistics(results, per_user))
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
    splitter: Any = None,
    models: Iterable[Any] = (),
    metrics: Iterable[Any] | None = None,
    *,
    protocol: Any = None,
    seed: int = 0,
    jobs: int = 1,
    run_dir: str | Path | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    validation: bool = False,
    per_user: bool | None = None,
    seeds: Any = None,
    backend: Any = None,
    scheduler: str | None = None,
    _kind: str = "compare",
    _extra: Mapping[str, Any] | None = None,
    _proposer: Proposer | None = None,
) -> Results:
    """Train and evaluate every model on every fold; returns `Results`.

    ``data`` may be an `ExperimentRequest` (`build_request`: everything resolved and checked
    once, at the edge); then ``splitter``, ``models``, ``metrics``, ``protocol``, ``seed``,
    ``backend``, ``scheduler``, ``validation`` and ``per_user`` come from it. Otherwise:

    - ``data``: `Interactions` or a dataset spec (``"movielens variant=100k"``).
    - ``splitter``: a spec (``"kfold n_folds=5"``), a `Splitter`, or a list of `Split`;
      None: the repeated split a plugin declares (``default="folds"``: 5-fold CV).
    - ``models``: specs, mappings, ``(label, model)`` pairs or `Model` instances (any class,
      registered or not); see `resolve_models` for labels.
    - ``metrics``: specs (``"ndcg@10"``) or `Metric` instances; None: defaults by data kind.
    - ``protocol``: a `workbench.evaluation.Protocol` or a mapping of its fields.
    - ``jobs``: parallel (model, fold) tasks (joblib; -1: every core); same scores as serial.
    - ``backend``/``scheduler``: where the tasks run, a registered backend's name
      (`workbench.backend`) or a `Backend`: ``"local"`` processes (default), ``"dask"``
      with the scheduler address (``tcp://host:8786``) or
      ``"ray"`` (``"auto"``, ``"ray://host:10001"``; none: this process's Ray session or a
      new one); on a cluster ``jobs=1`` means every worker. Same scores and run folders.
    - ``run_dir``: keep every finished result there as it completes; ``resume`` runs only
      what is missing (refused if the folder holds a different experiment).
    - ``progress``: a `Progress` receiving events (the CLI passes rich progress bars).
    - ``validation``: pass each fold's test set to ``fit(validation=...)`` so models that
      support it record validation metrics in the learning curves.
    - ``per_user``: keep per-user results (``per_user/*.parquet`` in the run folder, written
      before the fold's line of ``results.jsonl``) and put the per-user tests and intervals
      (`workbench.analysis.pairwise`) and the by-activity table (`workbench.analysis.activity`)
      in the metadata; None (the default): on for a comparison, off for a search.
    - ``seeds``: N or a list of seeds: every model with a ``seed`` parameter is trained once
      per seed on the same split (labels ``LABEL seed=S``); ``metadata["seed_variance"]``
      then holds seed and fold variance apart (`workbench.analysis.seeds`).

    ``_proposer`` (for `workbench.search.tuning.tune`): candidates proposed as the run goes
    (a sequential search strategy) instead of ``models``, which must then be empty.
    """

    if not isinstance(data, ExperimentRequest):
        check_seed(seed)  # before anything is loaded
    if not isinstance(jobs, int | np.integer) or jobs == 0 or jobs < -1:
        raise ParamError(f"jobs must be a positive integer or -1 (every core), got {jobs!r}")
    jobs = int(jobs)
    if isinstance(data, ExperimentRequest):
        request = data  # resolved once, at the edge: used as it is
    else:
        request = build_request(
            data, splitter, models, metrics, protocol=protocol, seed=seed, backend=backend,
            scheduler=scheduler, validation=validation,
            per_user=(_kind == "compare") if per_user is None else per_user,
            proposed=_proposer is not None, seeds=seeds,
        )  # fmt: skip
    seed, where, proto = request.seed, request.backend, request.protocol
    data_obj, data_request, split_obj = request.data, request.data_request, request.splitter
    entries, metric_objs = list(request.models), list(request.metrics)
    validation, per_user = request.validation, request.per_user
    if _kind == "compare":
        warn_random_split_of_time(data_obj, splitter_info(split_obj), entries)

    seeded = (
        {"seed_groups": {k: list(v) for k, v in request.seed_groups}} if request.seed_groups else {}
    )
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
        {"validation": bool(validation), "per_user": bool(per_user), **seeded, **(_extra or {})},
    )
    resumed = run_dir is not None and resume and (Path(run_dir) / "metadata.json").exists()
    if _proposer is not None and resumed:
        # the candidates are outcomes of the search, not part of the request
        meta["models"] = RunFolder(run_dir).read_metadata().get("models", [])
    folder = RunFolder.start(run_dir, meta, resume=resume) if run_dir is not None else None
    if folder is not None:
        meta["run_dir"] = str(folder.path)
    loop = Loop(
        splits, metric_objs, proto, seed=seed, jobs=jobs, backend=where, progress=progress,
        validation=bool(validation), per_user=bool(per_user),
    )  # fmt: skip
    fresh = loop.run(_proposer or Given(entries), meta, folder)
    records = folder.records() if folder is not None else fresh
    return build_results(records, meta, frames=loop.frames, folder=folder)


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
        "protocol": EvaluationProtocol.from_dict(meta.get("protocol") or {}),
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
    request["seed_groups"] = meta.get("seed_groups")
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
            "(or workbench.search.tuning.resume_tune)"
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
        _extra={"seed_groups": req["seed_groups"]} if req.get("seed_groups") else None,
    )
