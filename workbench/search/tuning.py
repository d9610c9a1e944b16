"""Tuning: a grid, random or TPE search for one model, run as a cross-validated comparison.

The candidates (`workbench.search.space`) become the models of a `compare` run labelled
``NAME#1``, ``NAME#2``, ...; they are ranked by the mean of one metric over the folds, and with
a run folder the best parameters are written to ``best.json`` and the search resumes like any
comparison. ``search="tpe"`` lets Optuna propose the candidates one after another and prune
bad ones fold by fold (`workbench_optuna.study`, optional dependency).
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import MissingDependency, ParamError, WorkbenchError
from workbench.experiments.compare import compare, load_run, request_of
from workbench.experiments.resolve import ModelEntry, default_metric, registry, resolve_data
from workbench.experiments.runner import Progress
from workbench.fileio.files import write_atomic
from workbench.jsonvalues import normalise
from workbench.metric import Metric
from workbench.results import Results
from workbench.search.space import Dimension, as_float_range, parse_space
from workbench.specs import parse_spec
from workbench.strategy import FAILED, Candidate, SearchStrategy


@dataclass
class TuneResult:
    """A search's outcome: candidates ranked by the metric, the best parameters, all results."""

    ranking: pd.DataFrame
    best_params: dict[str, Any]
    best_label: str
    metric: str
    results: Results

    @property
    def best_score(self) -> float:
        return float(self.ranking.iloc[0]["mean"])

    def to_pandas(self) -> pd.DataFrame:
        return self.ranking

    @classmethod
    def from_results(cls, results: Results) -> TuneResult:
        info = results.metadata.get("tune") or {}
        metric = info.get("metric")
        if not metric:
            raise WorkbenchError("these results are not from a tuning run")
        cands = {c["label"]: c["params"] for c in info.get("candidates") or []}
        if not cands:  # tpe: the candidates are the models the study proposed
            searched = list(info.get("space") or {})
            cands = {
                m["label"]: {k: (m.get("params") or {}).get(k) for k in searched}
                for m in results.metadata.get("models", [])
            }
        sub = results.scores[results.scores["metric"] == metric]
        if sub.empty:
            raise WorkbenchError(f"no finished results for metric '{metric}' yet")
        grouped = sub.groupby("model", sort=False)["value"]
        table = pd.DataFrame(
            {
                "mean": grouped.mean(),
                "std": grouped.std(ddof=1).fillna(0.0),
                "folds": grouped.size(),
            }
        )
        if "fit_seconds" in results.runs.columns:
            fit = results.runs.groupby("model", sort=False)["fit_seconds"].mean()
            table["fit_seconds"] = fit.reindex(table.index)
        higher = results.higher_is_better(metric)
        n_folds = int(results.metadata.get("splitter", {}).get("n_splits") or 0)
        table["complete"] = table["folds"] >= n_folds if n_folds else True
        table = table.sort_values(
            ["complete", "mean"], ascending=[False, not higher], kind="stable"
        )
        params = pd.DataFrame([cands.get(label, {}) for label in table.index], index=table.index)
        ranking = pd.concat([params, table], axis=1).reset_index(names="label")
        ranking.insert(0, "rank", range(1, len(ranking) + 1))
        best = str(ranking.iloc[0]["label"])
        fixed = dict(info.get("fixed", {}))
        return cls(ranking, {**fixed, **cands.get(best, {})}, best, metric, results)


def _tune_params(model: str | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    spec = parse_spec("model", model)
    params = dict(spec.params)
    params.pop("label", None)
    return spec.name, params


def tune(
    data: Any,
    splitter: Any,
    model_name: str | Mapping[str, Any],
    space: Any,
    metric: str | Metric | None = None,
    *,
    search: Any = None,
    n_iter: int = 10,
    seed: int = 0,
    jobs: int = 1,
    run_dir: str | Path | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    protocol: Any = None,
    metrics: Iterable[Any] = (),
    backend: Any = None,
    scheduler: str | None = None,
) -> TuneResult:
    """Grid, random or TPE search over ``space`` for one model, cross-validated by ``splitter``.

    ``model_name`` may carry fixed parameters (``"sgd n_epochs=10"``); ``space`` is a list of
    ``"name=values"`` strings or a mapping (syntax: `workbench.search.space`). Candidates are
    ranked by the mean of ``metric`` over the folds (its direction decides the order); more
    ``metrics`` are recorded too. With ``run_dir`` the best parameters are also written to
    ``best.json`` there, and the search resumes like a comparison. ``splitter`` None: the
    search split a plugin declares (3-fold CV); ``metric`` None: the first default metric
    for the data's kind (`workbench.experiments.resolve.default_metric`). ``search="tpe"`` (needs
    Optuna) draws ``n_iter`` candidates with Optuna's TPE sampler and prunes bad ones fold by
    fold; its study is kept in the run folder and resumes from it. ``backend``/``scheduler``:
    where the (candidate, fold) tasks run, as in `compare` (a Dask or Ray cluster).
    """

    name, fixed = _tune_params(model_name)
    dims = (
        space
        if isinstance(space, list) and all(isinstance(d, Dimension) for d in space)
        else parse_space(space)
    )
    cls = registry().get("model", name)
    dims = [as_float_range(d) if _is_float_param(cls, d.name) else d for d in dims]
    clash = sorted(set(fixed) & {d.name for d in dims})
    if clash:
        raise ParamError(f"parameter '{clash[0]}' is both fixed and searched")
    strategy = resolve_strategy(search)
    strategy.check_available()
    if strategy.draws and n_iter < 1:
        raise ParamError(f"{strategy.name} search: n_iter must be >= 1, got {n_iter}")
    base = cls(**fixed)  # validates the fixed parameters before anything trains
    data, splitter, metric = _defaults(data, splitter, metric)
    metric_obj = metric if isinstance(metric, Metric) else parse_spec("metric", metric).build()
    extra_metrics = [
        m for m in metrics if (m if isinstance(m, str) else m.label) != metric_obj.label
    ]
    info: dict[str, Any] = {
        "model": name,
        "fixed": normalise({k: base.get_params()[k] for k in fixed}),
        "space": {d.name: d.as_dict() for d in dims},
        "search": strategy.name,
        "n_iter": int(n_iter) if strategy.draws else None,
        "metric": metric_obj.label,
        "candidates": None,
    }
    proposer = _Searched(strategy, cls, name, fixed, dims, seed, n_iter, metric_obj, resume)
    models: list[ModelEntry] = []
    if not strategy.sequential:  # every candidate is known up front: listed in the metadata
        proposer.begin(None)
        models = proposer.ask(0)
        info["candidates"] = [
            {"label": e.label, "params": normalise({k: e.model.get_params()[k] for k in p})}
            for e, p in zip(models, proposer.searched, strict=True)
        ]
    results = compare(
        data,
        splitter,
        models,
        [metric_obj, *extra_metrics],
        protocol=protocol,
        seed=seed,
        jobs=jobs,
        run_dir=run_dir,
        resume=resume,
        progress=progress,
        backend=backend,
        scheduler=scheduler,
        _kind="tune",
        _extra={"tune": info},
        _proposer=proposer if strategy.sequential else None,
    )
    outcome = TuneResult.from_results(results)
    if run_dir is not None:
        _write_best(Path(run_dir), outcome)
    return outcome


class _Searched:
    """A `SearchStrategy` as the loop's proposer: each candidate built into a model entry
    ``MODEL#N`` (N = candidate number + 1, padded to the width of the strategy's budget)."""

    def __init__(
        self,
        strategy: SearchStrategy,
        cls: type,
        name: str,
        fixed: Mapping[str, Any],
        dims: list[Dimension],
        seed: int,
        n_iter: int,
        metric: Metric,
        resume: bool,
    ):
        self.strategy, self.cls, self.name, self.fixed, self.dims = strategy, cls, name, fixed, dims
        self.options = {
            "seed": seed,
            "n_iter": n_iter,
            "higher_is_better": bool(metric.higher_is_better),
            "resume": resume,
        }
        self.sequential, self.prunes = strategy.sequential, strategy.prunes
        self.searched: list[dict[str, Any]] = []
        self._candidates: dict[str, Candidate] = {}

    def begin(self, folder: Path | None) -> None:
        self.strategy.start(self.dims, folder=folder, **self.options)

    @property
    def budget(self) -> int:
        return self.strategy.budget

    def finished(self) -> int:
        return self.strategy.finished()

    def ask(self, n: int) -> list[ModelEntry]:
        width = len(str(self.strategy.budget))
        entries = []
        for cand in self.strategy.ask(n):
            try:
                model = self.cls(**self.fixed, **cand.params)  # validated before it trains
            except WorkbenchError:
                self.strategy.tell(cand, None, FAILED)
                raise
            seeded = "seed" in self.fixed or "seed" in cand.params
            label = f"{self.name}#{cand.number + 1:0{width}d}"
            self._candidates[label] = cand
            self.searched.append(dict(cand.params))
            entries.append(ModelEntry(label, model, seeded))
        return entries

    def prune(self, entry: ModelEntry, fold: int, value: float, *, last: bool) -> bool:
        return self.strategy.prune(self._candidates[entry.label], fold, value, last=last)

    def tell(self, entry: ModelEntry, value: float | None, state: str) -> None:
        self.strategy.tell(self._candidates[entry.label], value, state)

    def close(self) -> None:
        self.strategy.close()


def resolve_strategy(search: Any = None) -> SearchStrategy:
    """A `SearchStrategy` from a registered name or spec (``"tpe"``; None: the plugins'
    default, ``grid``) or an instance; an unknown name is the registry's "did you mean"."""
    if isinstance(search, SearchStrategy):
        return search
    spec = parse_spec("strategy", search or registry().default("strategy"))
    return registry().create("strategy", spec.name, **spec.params)


def strategies() -> list[dict[str, Any]]:
    """Every registered search strategy, whether it can run here and how to install what it
    needs (`unavailable_plugins` lists the plugins that could not load at all)."""
    out = []
    for entry in registry().list("strategy"):
        try:
            entry.obj.check_available()
            needs = hint = None
        except MissingDependency as exc:
            needs, hint = exc.package, exc.hint
        out.append(
            {"name": entry.name, "available": hint is None, "needs": needs, "hint": hint,
             "plugin": entry.plugin, "summary": entry.summary}
        )  # fmt: skip
    return out


def unavailable_plugins() -> dict[str, str]:
    """Plugin name -> why it is unavailable (a missing optional package and its install
    hint): a strategy such a plugin would register is not listed by `strategies`."""
    return {s.name: s.error or "" for s in registry().statuses if s.status == "unavailable"}


def _is_float_param(cls: Any, name: str) -> bool:
    """Whether the model declares parameter ``name`` a float (not an int): its range is then
    searched as floats even when the bounds are written as integers (``reg_offset=0:8``)."""
    field = getattr(getattr(cls, "Params", None), "model_fields", {}).get(name)
    if field is None:
        return False
    kinds = set(typing.get_args(field.annotation)) or {field.annotation}
    return float in kinds and int not in kinds


def _defaults(data: Any, splitter: Any, metric: Any) -> tuple[Any, Any, Any]:
    """The plugins' search split when ``splitter`` is None, the data kind's default metric
    when ``metric`` is None (the data is then loaded once; compare reuses it)."""
    if splitter is None:
        splitter = registry().default("splitter", "search")
    if metric is None:
        data, _ = resolve_data(data)
        metric = default_metric(data.kind)
    return data, splitter, metric


def _write_best(run_dir: Path, outcome: TuneResult) -> None:

    best = {
        "model": outcome.results.metadata.get("tune", {}).get("model"),
        "metric": outcome.metric,
        "mean": outcome.best_score,
        "label": outcome.best_label,
        "params": outcome.best_params,
    }
    text = json.dumps(normalise(best), indent=2) + "\n"
    write_atomic(run_dir / "best.json", lambda fh: fh.write(text.encode("utf-8")))


def load_tune(run_dir: str | Path) -> TuneResult:
    """The ranking of a tuning run folder, without training anything."""
    return TuneResult.from_results(load_run(run_dir))


def resume_tune(
    run_dir: str | Path,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
    backend: Any = None,
    scheduler: str | None = None,
) -> TuneResult:
    """Finish a tuning run folder from its own metadata."""

    req = request_of(run_dir)
    info = req.get("tune") or {}
    if req["kind"] != "tune" or not info:
        raise WorkbenchError(f"{run_dir} is not a tuning run (resume it with compare)")
    main = info["metric"]
    return tune(
        req["data"],
        req["splitter"],
        {"name": info["model"], **(info.get("fixed") or {})},
        dict(info["space"]),
        next(m for m in req["metrics"] if _label(m) == main),
        search=info.get("search", "grid"),
        n_iter=int(info.get("n_iter") or 10),
        seed=req["seed"],
        jobs=jobs,
        run_dir=run_dir,
        resume=True,
        progress=progress,
        protocol=req["protocol"],
        metrics=[m for m in req["metrics"] if _label(m) != main],
        backend=backend,
        scheduler=scheduler,
    )


def _label(spec: Mapping[str, Any]) -> str:
    return parse_spec("metric", spec).build().label
