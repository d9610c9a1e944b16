"""`Results`: what a comparison produced, as pandas tables plus run metadata.

Three long tables and a dict:

- ``scores``: one row per (model, fold, metric) with ``value``.
- ``runs``: one row per (model, fold): ``model_name``, ``params`` (JSON), ``fit_seconds``,
  ``predict_seconds``, ``n_train``, ``n_test``, ``cold_users``, ``cold_items``,
  ``cold_pairs`` and any other diagnostics the evaluation recorded.
- ``curves``: one row per (model, fold, epoch): ``loss``, ``seconds`` and validation metrics.
- ``metadata``: dataset name and fingerprint, splitter, protocol, seed, versions, metric
  directions (``higher_is_better``), creation time.

``model`` is the run label: the model name, or ``name[2]`` etc. when the same model appears
twice with different parameters (or a label the user chose).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.jsonvalues import dumps
from workbench.plugins import get_registry

SCORE_COLUMNS = ["model", "fold", "metric", "value"]
RUN_COLUMNS = ["model", "model_name", "fold", "params", "fit_seconds", "predict_seconds"]
CURVE_COLUMNS = ["model", "fold", "epoch", "loss", "seconds"]


@dataclass
class Results:
    scores: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SCORE_COLUMNS))
    runs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RUN_COLUMNS))
    curves: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CURVE_COLUMNS))
    metadata: dict[str, Any] = field(default_factory=dict)

    # -- building --------------------------------------------------------------------------------
    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        metadata: Mapping[str, Any] | None = None,
    ) -> Results:
        """From per-(model, fold) records: ``{"model", "model_name", "fold", "params",
        "scores": {label: value}, "fit_seconds", "predict_seconds", "curve": [ {epoch,
        loss, seconds, ...} ], ...diagnostics}``."""
        score_rows, run_rows, curve_rows = [], [], []
        for rec in records:
            rec = dict(rec)
            scores = rec.pop("scores", {}) or {}
            curve = rec.pop("curve", []) or []
            key = {"model": rec["model"], "fold": int(rec.get("fold", 0))}
            for metric, value in scores.items():
                score_rows.append({**key, "metric": metric, "value": float(value)})
            for point in curve:
                curve_rows.append({**key, **point})
            params = rec.get("params", {})
            rec["params"] = params if isinstance(params, str) else dumps(params)
            rec.setdefault("model_name", rec["model"])
            run_rows.append({**rec, **key})
        return cls(
            scores=pd.DataFrame(score_rows, columns=SCORE_COLUMNS),
            runs=pd.DataFrame(run_rows) if run_rows else pd.DataFrame(columns=RUN_COLUMNS),
            curves=pd.DataFrame(curve_rows) if curve_rows else pd.DataFrame(columns=CURVE_COLUMNS),
            metadata=dict(metadata or {}),
        )

    # -- views -----------------------------------------------------------------------------------
    @property
    def models(self) -> list[str]:
        """Run labels in the order they were added."""
        return list(dict.fromkeys(self.runs["model"].tolist() or self.scores["model"].tolist()))

    @property
    def metric_labels(self) -> list[str]:
        return list(dict.fromkeys(self.scores["metric"].tolist()))

    def higher_is_better(self, metric: str) -> bool:
        """The direction of the metric column ``metric`` (``ndcg@10``, ``rmse[clip=False]``):
        as recorded with the results, else that of the registered metric, else higher."""
        recorded = self.metadata.get("higher_is_better", {})
        if metric in recorded:
            return bool(recorded[metric])
        return registered_direction(metric)

    def to_pandas(self) -> pd.DataFrame:
        """One row per (model, fold): metric columns, then timings."""
        if self.scores.empty:
            wide = pd.DataFrame(columns=["model", "fold"])
        else:
            wide = self.scores.pivot_table(
                index=["model", "fold"], columns="metric", values="value", aggfunc="first"
            ).reset_index()
            wide.columns.name = None
            wide = wide[["model", "fold", *self.metric_labels]]
        if not self.runs.empty:
            timing = [c for c in ("fit_seconds", "predict_seconds") if c in self.runs.columns]
            wide = wide.merge(
                self.runs[["model", "fold", *timing]], on=["model", "fold"], how="outer"
            )
        order = {m: i for i, m in enumerate(self.models)}
        wide = wide.sort_values(
            ["model", "fold"], key=lambda s: s.map(order) if s.name == "model" else s
        )
        return wide.reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation over folds: index model, columns (metric, mean|std)."""
        wide = self.to_pandas()
        value_cols = [c for c in wide.columns if c not in ("model", "fold")]
        if wide.empty:
            return pd.DataFrame()
        grouped = wide.groupby("model", sort=False)[value_cols]
        mean, std = grouped.mean(), grouped.std(ddof=1)
        # one fold: a spread of 0; several folds with fewer than two values: unknown (NaN)
        single = wide.groupby("model", sort=False)["fold"].nunique() <= 1
        std.loc[single[single].index] = std.loc[single[single].index].fillna(0.0)
        out = pd.concat({"mean": mean, "std": std}, axis=1).swaplevel(axis=1)
        out = out[[(c, s) for c in value_cols for s in ("mean", "std")]]
        return out.reindex(self.models)

    def fold_counts(self) -> pd.DataFrame:
        """Folds with a value per model (rows) and metric (columns); NaN scores and failed
        folds do not count."""
        if self.scores.empty:
            return pd.DataFrame()
        finite = self.scores.assign(ok=np.isfinite(self.scores["value"].astype(float)))
        counts = finite.pivot_table(
            index="model", columns="metric", values="ok", aggfunc="sum", fill_value=0
        )
        return counts.reindex(index=self.models, columns=self.metric_labels).fillna(0).astype(int)

    def missing_folds(self) -> list[dict[str, Any]]:
        """Every (model, metric, fold) without a value, with the reason: the fold failed,
        or the metric was undefined there (e.g. no test user had a relevant item)."""
        if self.scores.empty:
            return []
        folds = sorted(
            set(self.scores["fold"].astype(int))
            | set(self.runs.get("fold", pd.Series()).astype(int))
        )
        values = {
            (r.model, r.metric, int(r.fold)): float(r.value)
            for r in self.scores.itertuples(index=False)
        }
        runs = (
            {(r["model"], int(r["fold"])): r for r in self.runs.to_dict("records")}
            if not self.runs.empty
            else {}
        )
        pruned = self.metadata.get("pruned") or {}
        out = []
        for model in self.models:
            for metric in self.metric_labels:
                for fold in folds:
                    value = values.get((model, metric, fold))
                    if value is not None and math.isfinite(value):
                        continue
                    reason = _missing_reason(runs.get((model, fold)), metric)
                    cut = pruned.get(model) if (model, fold) not in runs else None
                    if isinstance(cut, Mapping) and int(cut.get("after_fold", -1)) < fold:
                        reason = pruned_reason(cut)
                    out.append({"model": model, "metric": metric, "fold": fold, "reason": reason})
        return out

    def best(self, metric: str) -> str:
        """The model with the best mean ``metric``."""
        means = self.scores[self.scores["metric"] == metric].groupby("model")["value"].mean()
        if means.empty:
            raise KeyError(metric)
        return str(means.idxmax() if self.higher_is_better(metric) else means.idxmin())

    def per_fold(self, metric: str) -> pd.DataFrame:
        """Folds x models table of one metric (for paired tests)."""
        sub = self.scores[self.scores["metric"] == metric]
        return sub.pivot_table(index="fold", columns="model", values="value", aggfunc="first")

    # -- output ------------------------------------------------------------------------------------
    def export(self, exporter: Any, path: str | Path | None = None, **params: Any) -> Path | None:
        """Export with an exporter instance or a registered exporter name."""
        if isinstance(exporter, str):
            exporter = get_registry().create("exporter", exporter, **params)
        return exporter.export(self, None if path is None else Path(path))

    def to_dict(self) -> dict[str, Any]:
        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return json.loads(df.to_json(orient="records"))

        return {
            "metadata": self.metadata,
            "scores": records(self.scores),
            "runs": records(self.runs),
            "curves": records(self.curves),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Results:
        return cls(
            scores=pd.DataFrame(data.get("scores", []), columns=SCORE_COLUMNS),
            runs=pd.DataFrame(data.get("runs", []))
            if data.get("runs")
            else pd.DataFrame(columns=RUN_COLUMNS),
            curves=pd.DataFrame(data.get("curves", []))
            if data.get("curves")
            else pd.DataFrame(columns=CURVE_COLUMNS),
            metadata=dict(data.get("metadata", {})),
        )

    def __repr__(self) -> str:
        return (
            f"Results({len(self.models)} models, {self.scores['fold'].nunique()} folds, "
            f"metrics: {', '.join(self.metric_labels)})"
        )


def registered_direction(label: str) -> bool:
    """Whether higher is better for the metric column ``label``, from the registered metric
    of its name (the part before ``@`` or ``[``); an unknown metric counts as higher."""
    name = re.split(r"[@\[]", label, maxsplit=1)[0]
    try:
        return bool(get_registry().get("metric", name).higher_is_better)
    except WorkbenchError:
        return True


def _number(run: Mapping[str, Any], key: str) -> float | None:
    value = run.get(key)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def pruned_reason(cut: Mapping[str, Any]) -> str:
    """The reason shown for a pruned candidate's folds that did not run, e.g. "pruned (after
    fold 0, score 0.93)", from a run's ``metadata["pruned"][label]``."""
    score = _number(cut, "score")
    shown = f", score {score:.4g}" if score is not None else ""
    return f"pruned (after fold {int(cut.get('after_fold', 0))}{shown})"


def _missing_reason(run: Mapping[str, Any] | None, metric: str) -> str:
    """Why a (model, fold) has no value for ``metric``, from the run's diagnostics."""
    if run is None:
        return "the fold did not run"
    error = run.get("error")
    if isinstance(error, str) and error:
        return f"the fold failed ({error})"
    if _number(run, "n_test") == 0:
        return "the fold's test set is empty"
    not_applicable = run.get("rating_metrics")
    if "@" not in metric and isinstance(not_applicable, str) and not_applicable:
        return not_applicable
    if "@" in metric and _number(run, "n_ranked_users") == 0:
        without = _number(run, "users_without_relevant")
        threshold = _number(run, "relevance_threshold")
        relevant = f"rating >= {threshold:g}" if threshold is not None else "relevant"
        if without:
            return f"no test user has a relevant item ({relevant})"
        return "no test user could be ranked"
    return "the metric is undefined on this fold"
