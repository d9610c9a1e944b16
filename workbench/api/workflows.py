"""The workflows of the Python API (re-exported by `workbench.api`): load and describe data,
train, recommend, compare, tune and evaluate."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench import storage
from workbench.analysis import describe as _describe
from workbench.analysis.activity import DEFAULT_BINS, activity_buckets
from workbench.data import Interactions
from workbench.errors import DataError, ParamError, WorkbenchError
from workbench.evaluation import check_metrics_fit, evaluate
from workbench.experiments import loading
from workbench.experiments.compare import compare as _compare
from workbench.experiments.compare import (
    load_run,
    per_user_frames,
    request_of,
    resume_compare,
)
from workbench.experiments.resolve import (
    ModelEntry,
    check_models_fit,
    resolve_metrics,
    resolve_splitter,
)
from workbench.experiments.resolve import default_metrics as _defaults
from workbench.experiments.runfolder import RunFolder
from workbench.model import FoldedUsers, Model, check_k
from workbench.plugins import get_registry
from workbench.protocol import EvaluationProtocol
from workbench.results import Results
from workbench.search import tuning
from workbench.specs import parse_spec
from workbench.splits import Split

__all__ = [
    "ModelChoice",
    "Trained",
    "activity",
    "compare",
    "default_metric",
    "default_metrics",
    "describe_dataset",
    "describe_splits",
    "evaluate_model",
    "first_split",
    "load_dataset",
    "load_model",
    "load_run",
    "load_tune",
    "make_model",
    "models_for",
    "recommend",
    "recommend_new_users",
    "resume_run",
    "similar_items",
    "split",
    "train",
    "train_holdout",
    "tune",
]


def load_dataset(spec: str | Mapping[str, Any] | None = None, **options: Any) -> Interactions:
    """A dataset by spec or name with options: ``load_dataset("movielens", variant="100k")``;
    a path to a data file; None: the default dataset. See
    `workbench.experiments.loading.load_dataset`."""

    return loading.load_dataset(spec, **options)


def split(
    data: Interactions, splitter: Any = None, *, seed: int = 0, **options: Any
) -> list[Split]:
    """The splits of ``data``: ``split(data, "kfold", n_folds=5)`` or a `Splitter` instance
    (None: the default split, a holdout)."""

    if options and splitter is None:
        splitter = get_registry().default("splitter")
    if options:
        base = parse_spec("splitter", splitter)
        splitter = {"name": base.name, **base.params, **options}
    made = resolve_splitter(splitter, seed)
    return list(made.split(data)) if not isinstance(made, list) else made


def describe_dataset(
    data: str | Mapping[str, Any] | Interactions | None = None, **options: Any
) -> dict[str, Any]:
    """Counts, density, values (rating histogram or weight quantiles), user and item
    activity, cold-start counts and time range of a dataset (`Interactions` or a spec, None:
    the default dataset), as plain JSON values; a spec also gives ``load_seconds``."""

    if isinstance(data, Interactions):
        return _describe.describe(data)
    started = time.perf_counter()
    loaded = load_dataset(data, **options)
    return {**_describe.describe(loaded), "load_seconds": time.perf_counter() - started}


def describe_splits(
    data: Interactions, splitter: Any = None, *, seed: int = 0
) -> list[dict[str, Any]]:
    """Per split of ``data``: sizes, cold users and items in test, leaked pairs (None: the
    default split)."""

    return _describe.describe_splits(split(data, splitter, seed=seed))


def default_metrics(data: Interactions | str) -> list[str]:
    """The metrics used when none are named, for ``data`` (or a feedback kind): those the
    loaded plugins declare for explicit ratings or implicit feedback."""

    return _defaults(data.kind if isinstance(data, Interactions) else data)


def default_metric(data: Interactions | str) -> str:
    """The metric a search ranks by when none is named: the first of `default_metrics`."""
    return default_metrics(data)[0]


@dataclass(frozen=True)
class ModelChoice:
    """Registered models that can learn from a kind of feedback, those that cannot, and those
    left out because they need an outside service (named: why)."""

    names: list[str]
    skipped: list[str]
    services: dict[str, str] = field(default_factory=dict)
    #: models that cannot use this dataset: what they need that it lacks
    unfit: dict[str, str] = field(default_factory=dict)


def models_for(data: Interactions | str) -> ModelChoice:
    """The registered models that can be trained on ``data`` (or a feedback kind), each with
    its default parameters; an error if none can."""

    kind = data.kind if isinstance(data, Interactions) else data
    fit, skipped, services, unfit = [], [], {}, {}
    for entry in get_registry().list("model"):
        if kind not in entry.obj.feedback:
            skipped.append(entry.name)
        elif entry.obj.service is not None:
            services[entry.name] = entry.obj.service
        elif isinstance(data, Interactions) and (missing := entry.obj().missing_data(data)):
            unfit[entry.name] = missing
        else:
            fit.append(entry.name)
    if not fit:
        raise WorkbenchError(f"no registered model can learn from {kind} feedback")
    return ModelChoice(fit, skipped, services, unfit)


def make_model(name: str, **params: Any) -> Model:
    """An unfitted model by registered name (or spec string) with validated parameters."""
    spec = parse_spec("model", name)
    return spec.build(**params)


def _model_to_train(model: str | Model, data: Interactions, seed: int | None, params: Any):
    if not isinstance(data, Interactions):
        raise DataError(
            f"train: data must be Interactions (see load_dataset), got {type(data).__name__}"
        )

    if isinstance(model, str):
        model = make_model(model, **params)
    elif params:
        model = model.clone().set_params(**params)
    if not isinstance(model, Model):
        raise ParamError(f"cannot train {model!r}: give a model name or a Model instance")
    if seed is not None and "seed" in type(model).Params.model_fields and "seed" not in params:
        model.set_params(seed=seed)
    check_models_fit([ModelEntry(model.name or type(model).__name__, model)], data)
    return model


def train(
    model: str | Model,
    data: Interactions,
    *,
    callback: Any = None,
    seed: int | None = None,
    **params: Any,
) -> Model:
    """Fit a model (a name/spec with ``params``, or an instance) on ``data``; returns it.

    A model that cannot learn from the data's kind of feedback is refused before training;
    ``seed`` sets the model's seed unless ``params`` name one."""
    return _model_to_train(model, data, seed, params).fit(data, callback=callback)


@dataclass
class Trained:
    """A model trained on the train part of a split, and its scores on the test part."""

    model: Model
    train: Interactions
    test: Interactions
    scores: pd.DataFrame
    fit_seconds: float


def train_holdout(
    model: str | Model,
    data: Interactions,
    splitter: Any = None,
    *,
    metrics: Iterable[Any] | None = None,
    seed: int = 0,
    callback: Any = None,
    **params: Any,
) -> Trained:
    """Train on the first split's train part (None: the default split, a holdout) and
    evaluate on its test part with ``metrics`` (None: the defaults for the data's kind).

    Metrics and the model are checked against the data before anything trains; ``seed``
    seeds the split and, unless ``params`` name one, the model."""

    model = _model_to_train(model, data, seed, params)
    metric_objs = resolve_metrics(None if metrics is None else list(metrics), data)
    check_metrics_fit(metric_objs, data)
    fold = first_split(data, splitter, seed=seed)
    started = time.perf_counter()
    model.fit(fold.train, callback=callback)
    seconds = time.perf_counter() - started
    scores = evaluate_model(model, fold.test, metric_objs)
    return Trained(model, fold.train, fold.test, scores, seconds)


def first_split(data: Interactions, splitter: Any = None, *, seed: int = 0) -> Split:
    """The first split of ``data`` (the one `train_holdout` trains and evaluates on)."""

    made = resolve_splitter(splitter, seed)
    parts = made if isinstance(made, list) else made.split(data)
    fold = next(iter(parts), None)
    if fold is None:
        raise DataError(f"splitter {splitter!r} produced no split")
    return fold


def load_model(path: str | Path) -> Model:
    """A model saved with ``model.save(path)`` or ``workbench train -o``."""

    return storage.load_model(path)


def resume_run(
    run_dir: str | Path,
    *,
    jobs: int = 1,
    progress: Any = None,
    backend: Any = None,
    scheduler: str | None = None,
) -> Results:
    """Finish a run folder (a comparison or a search) from its own metadata; returns
    `Results` (of a search: every candidate's). ``backend``/``scheduler``: where the missing
    tasks run (a registered `workbench.backend.Backend`: local processes, a Dask or Ray
    cluster)."""
    where = {"backend": backend, "scheduler": scheduler}
    if request_of(run_dir)["kind"] == "tune":
        return tuning.resume_tune(run_dir, jobs=jobs, progress=progress, **where).results
    return resume_compare(run_dir, jobs=jobs, progress=progress, **where)


def load_tune(run_dir: str | Path) -> Any:
    """The ranking of a tuning run folder (`workbench.search.tuning.TuneResult`)."""

    return tuning.load_tune(run_dir)


def tune(*args: Any, **kwargs: Any) -> Any:
    """Grid, random or TPE search; see `workbench.search.tuning.tune` for the arguments."""

    return tuning.tune(*args, **kwargs)


# -- recommendations --------------------------------------------------------------------------
def _titles(model: Model, items: np.ndarray, titles: Any) -> list[str | None] | None:
    """Titles of item indices: from ``titles`` (mapping/Series/Interactions) or the model."""
    ids = model.items_.id_of(np.where(items >= 0, items, 0))
    if titles is not None:
        if isinstance(titles, Interactions):
            meta = titles.item_metadata
            if meta is None or "title" not in meta.columns:
                return None
            titles = meta["title"]
        lookup = titles.to_dict() if isinstance(titles, pd.Series) else dict(titles)
        return [lookup.get(i) for i in ids]
    stored = getattr(model, "item_titles_", None)
    if stored is None:
        return None
    return [stored[i] or None for i in np.where(items >= 0, items, 0)]


@functools.wraps(_compare)
def compare(*args: Any, progress: Any = True, **kwargs: Any) -> Results:
    # the public `compare`: as `workbench.experiments.compare.compare`, with a progress bar in
    # a terminal or notebook by default (``progress=False``: none; or a `Progress` instance)
    from workbench.api.progressbar import progress_events

    with progress_events(progress) as events:
        return _compare(*args, progress=events, **kwargs)


compare.__doc__ = (compare.__doc__ or "") + (
    "\n    From ``workbench.api`` (``wb.compare``) ``progress`` defaults to True: a rich bar of"
    "\n    (model, fold) tasks in a terminal or a notebook, none in a log; False turns it off.\n"
)


def _frame(
    model: Model,
    user_ids: Sequence[Any],
    items: np.ndarray,
    scores: np.ndarray,
    titles: Any,
    user_col: str = "user",
) -> pd.DataFrame:
    n, k = items.shape
    flat_items = items.ravel()
    keep = flat_items >= 0
    frame = pd.DataFrame(
        {
            user_col: np.repeat(np.asarray(user_ids, dtype=object), k)[keep],
            "rank": np.tile(np.arange(1, k + 1), n)[keep],
            "item": model.items_.id_of(flat_items[keep]) if keep.any() else [],
            "score": scores.ravel()[keep].astype(np.float64),
        }
    )
    names = _titles(model, flat_items[keep], titles)
    if names is not None:
        frame["title"] = names
    return frame.reset_index(drop=True)


def _model_of(model: Model | str | Path) -> Model:
    """A fitted model: the instance given, or the model file ``model`` names."""
    model = load_model(model) if isinstance(model, str | Path) else model
    if not isinstance(model, Model):
        raise ParamError(f"expected a fitted Model or a model file path, got {model!r}")
    model.check_fitted()
    return model


def known_users(model: Model, user_ids: Iterable[Any]) -> np.ndarray:
    """Indices of external user ids in the model; an unknown id is a clear `DataError`."""
    ids = list(user_ids)
    idx = model.users_.index_of(ids, missing="minus1")
    bad = np.flatnonzero(idx < 0)
    if len(bad):
        raise DataError(
            f"user {ids[bad[0]]!r} is not in the model's training data; for a new user, "
            "recommend from their ratings with recommend_new_users (CLI: --history FILE)"
        )
    return idx


def recommend(
    model: Model | str | Path,
    user_ids: Any,
    k: int = 10,
    *,
    exclude_seen: bool = True,
    items: Any = None,
    titles: Any = None,
) -> pd.DataFrame:
    """Top-``k`` items of known users: columns user, rank, item, score (and title).

    ``items`` restricts the candidates (external ids); ``titles``: a mapping/Series id ->
    title or an `Interactions` with item metadata (default: titles saved with the model).
    """
    model = _model_of(model)
    model.check_fitted()
    ids = list(np.atleast_1d(np.asarray(user_ids, dtype=object)))
    idx = known_users(model, ids)
    cand = None if items is None else model.items_.index_of(list(items))
    top, scores = model.recommend(idx, k=k, exclude_seen=exclude_seen, items=cand)
    return _frame(model, ids, top, scores, titles)


def _history(model: Model, history: Any) -> Interactions:
    if isinstance(history, Interactions):
        return history
    if isinstance(history, str | Path):
        return loading.read_file(history)
    if isinstance(history, pd.DataFrame):
        cols = list(history.columns)
        value = next((c for c in ("rating", "value", "weight") if c in cols), None)
        kind = model.feedback_ if value is not None else "implicit"
        return Interactions.from_pandas(
            history, value=value, kind=kind, rating_scale=model.rating_scale_, name="history"
        )
    raise ParamError("history must be Interactions, a DataFrame (user, item, rating) or a file")


def fold_in(model: Model | str | Path, history: Any) -> FoldedUsers:
    """New users folded into ``model`` from their interactions (item parameters frozen)."""
    model = _model_of(model)
    data = _history(model, history)
    known = model.items_.index_of(data.items.ids, missing="minus1") >= 0
    if not known.any():
        raise DataError("none of the history's items is known to the model")
    return model.fold_in(data)


def recommend_new_users(
    model: Model | str | Path,
    history: Any,
    k: int = 10,
    *,
    exclude_seen: bool = True,
    titles: Any = None,
) -> pd.DataFrame:
    """Top-``k`` for users not in training, from their ratings; no retraining.

    ``history``: `Interactions`, a DataFrame with user, item (and rating) columns, or a file
    the ``tabular`` dataset reads. Columns: user, rank, item, score (and title); the score is
    the model's raw score (a rating model's prediction, not clipped). A rating model ranks a
    short history mostly by item bias: for new users' lists prefer a ranking model (``ials``,
    ``nmf``; docs/workflows.md, "Which model for new users").
    """
    model = _model_of(model)
    folded = fold_in(model, history)
    top, scores = model.recommend(folded, k=k, exclude_seen=exclude_seen)
    return _frame(model, list(folded.ids), top, scores, titles)


def similar_items(
    model: Model | str | Path, item_ids: Any, k: int = 10, *, titles: Any = None
) -> pd.DataFrame:
    """Nearest items in the model's factor space (cosine): item, rank, similar, similarity."""
    model = _model_of(model)
    k = min(check_k(k, where="similar_items", minimum=0), model.n_items_)
    ids = list(np.atleast_1d(np.asarray(item_ids, dtype=object)))
    idx = model.items_.index_of(ids, missing="minus1")
    bad = np.flatnonzero(idx < 0)
    if len(bad):
        raise DataError(f"item {ids[bad[0]]!r} is not in the model's training data")
    top, sims = model.similar_items(idx, k=k)
    frame = _frame(model, ids, top, sims, titles, user_col="query")
    return frame.rename(columns={"item": "similar", "score": "similarity", "query": "item"})


# -- evaluation -------------------------------------------------------------------------------
def _train_view(model: Model) -> Interactions:
    """The model's training pairs (value 1) in its id space, for the protocol."""
    seen = model.seen_.tocoo()
    return Interactions(
        seen.row,
        seen.col,
        np.ones(len(seen.row), dtype=np.float32),
        users=model.users_,
        items=model.items_,
        kind=model.feedback_,
        rating_scale=model.rating_scale_,
        name="training data",
        validate=False,
    )


def held_out_part(model: Model, data: Interactions) -> tuple[Interactions, dict[str, int]]:
    """``data`` in the model's id space; pairs with users or items outside it are dropped
    (counted in the returned dict: they need fold-in, see `recommend_new_users`)."""
    aligned = data.align_to(model.users_, model.items_)
    new_user = aligned.user >= model.n_users_
    new_item = aligned.item >= model.n_items_
    keep = ~(new_user | new_item)
    if not keep.any():
        raise DataError(
            f"none of the {len(data)} interactions of '{data.name}' has a user and an item the "
            "model knows: evaluate on data from the same dataset (e.g. a held-out split)"
        )
    kept = aligned.subset(keep)
    test = Interactions(
        kept.user,
        kept.item,
        kept.value,
        users=model.users_,
        items=model.items_,
        kind=data.kind,
        rating_scale=model.rating_scale_ or data.rating_scale,
        name=data.name,
        item_metadata=data.item_metadata,
        validate=False,
    )
    return test, {
        "dropped_new_user_pairs": int(new_user.sum()),
        "dropped_new_item_pairs": int((new_item & ~new_user).sum()),
    }


def evaluate_model(
    model: Model | str | Path,
    data: Interactions,
    metrics: Iterable[Any] | None = None,
    *,
    protocol: Any = None,
    per_user: bool = False,
) -> pd.DataFrame:
    """Evaluate a fitted model on held-out interactions ``data``: columns metric, value.

    Ranking excludes the model's training interactions (as in `compare`); pairs of users or
    items outside the model's id space are dropped and counted in
    ``frame.attrs["diagnostics"]``; with ``per_user`` the per-user table is in
    ``frame.attrs["per_user"]``. ``metrics`` default to those for the data's kind.
    """

    model = _model_of(model)
    model.check_fitted()
    test, dropped = held_out_part(model, data)
    train_part = _train_view(model)
    overlap = Split(train_part, test).leaked_pairs()
    if overlap:
        raise DataError(
            f"{overlap} of the {len(test)} test pairs were in the model's training data: "
            "evaluate on held-out interactions (e.g. the test part of the same split)"
        )
    metric_objs = resolve_metrics(None if metrics is None else list(metrics), test)
    if isinstance(protocol, Mapping):
        protocol = EvaluationProtocol.from_values(protocol)
    result = evaluate(model, Split(train_part, test), metric_objs, protocol, per_user=per_user)
    frame = pd.DataFrame({"metric": list(result.scores), "value": list(result.scores.values())})
    frame.attrs["diagnostics"] = {**result.diagnostics, **dropped}
    if per_user:
        frame.attrs["per_user"] = result.per_user
    return frame


def activity(results: Results | str | Path, bins: Sequence[int] | None = None) -> pd.DataFrame:
    """Performance and coverage by how many train interactions users have (`compare` or a
    run folder with ``per_user=True``)."""

    if isinstance(results, str | Path):
        folder = RunFolder(results)
        meta = folder.read_metadata()
        frames = per_user_frames(folder.records(), {}, folder)
        n_items = (meta.get("dataset") or {}).get("n_items")
        if not frames:
            raise DataError(
                f"{results} has no per-user results: run the comparison with per_user=True "
                "(CLI: --per-user)"
            )
        return activity_buckets(frames, tuple(bins or DEFAULT_BINS), n_items=n_items)
    records = results.metadata.get("activity")
    if not records:
        raise DataError("these results have no by-activity table: compare with per_user=True")
    return pd.DataFrame(records)
