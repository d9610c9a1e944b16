"""Writing comparisons to an MLflow tracking store.

A comparison is one MLflow *parent* run (dataset, split, protocol and seed as parameters, the
mean and standard deviation of every (model, metric) as metrics, the JSON export and the HTML
report as artifacts); each (model, fold) is a *child* run with the model's parameters, its
scores, its fit/predict/evaluation seconds and its learning curve (``loss`` by epoch).

The store is a tracking URI: by default the local folder ``mlruns`` (a SQLite database
``mlruns/mlflow.db`` with artifacts in ``mlruns/artifacts``; MLflow 3 keeps its plain-file
store in maintenance mode and refuses it unless ``MLFLOW_ALLOW_FILE_STORE=true``), or any URI
MLflow accepts (``http://host:5000``, ``sqlite:///path.db``, ``file:./mlruns`` where allowed);
new experiments in a SQLite store keep their artifacts in ``artifacts/`` beside the database.

Live tracking writes the parent run's id into the run folder (``mlflow.json``), so a resumed
comparison keeps logging into the same parent and a later export does not log twice.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

DEFAULT_DIR = "mlruns"
DEFAULT_EXPERIMENT = "workbench"
STATE_FILE = "mlflow.json"
TAG = "workbench"


def default_uri(folder: str | os.PathLike[str] = DEFAULT_DIR) -> str:
    """The local store in ``folder``: ``sqlite:///ABS/mlruns/mlflow.db``."""
    path = Path(folder).expanduser().resolve()
    return f"sqlite:///{path / 'mlflow.db'}"


def resolve_uri(uri: str | None) -> tuple[str, Path | None]:
    """(tracking URI, local artifact folder or None) for an option value (None: default)."""
    if uri is None or not str(uri).strip():
        folder = Path(DEFAULT_DIR).resolve()
        return default_uri(folder), folder / "artifacts"
    text = str(uri).strip()
    if "://" not in text and not text.startswith(("file:", "sqlite:", "databricks")):
        folder = Path(text).expanduser().resolve()  # a folder: a local store inside it
        return default_uri(folder), folder / "artifacts"
    if text.startswith("sqlite:///") and not text.endswith(":memory:"):
        # artifacts beside the database, not in MLflow's default ./mlruns of the current folder
        return text, Path(text[len("sqlite:///") :]).expanduser().resolve().parent / "artifacts"
    return text, None


def metric_key(label: str) -> str:
    """An MLflow metric name for a workbench label (``ndcg@10`` -> ``ndcg_at_10``)."""
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", label.replace("@", "_at_"))


def _value(v: Any) -> str:
    text = v if isinstance(v, str) else json.dumps(v, default=str)
    return text[:6000]


def _finite(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


class Tracker:
    """One comparison in one MLflow experiment: a parent run and its (model, fold) children."""

    def __init__(self, uri: str | None = None, experiment: str | None = None):
        from mlflow.tracking import MlflowClient

        self.uri, artifacts = resolve_uri(uri)
        if artifacts is not None:
            artifacts.parent.mkdir(parents=True, exist_ok=True)
        self.client = MlflowClient(tracking_uri=self.uri)
        name = experiment or DEFAULT_EXPERIMENT
        try:
            found = self.client.get_experiment_by_name(name)
            self.experiment_id = (
                found.experiment_id
                if found is not None
                else self.client.create_experiment(
                    name, artifact_location=artifacts.as_uri() if artifacts else None
                )
            )
        except Exception as exc:  # noqa: BLE001 - any store problem is one line for the user
            raise WorkbenchError(f"MLflow store {self.uri}: {_line(exc)}") from None
        self.parent_id: str | None = None

    # -- the parent run ------------------------------------------------------------------------
    def start_parent(self, metadata: Mapping[str, Any], name: str | None = None) -> str:
        """Create the comparison's parent run from the run metadata; returns its id."""
        dataset = metadata.get("dataset") or {}
        splitter = metadata.get("splitter") or {}
        labels = [m.get("label") for m in metadata.get("models") or []]
        run = self.client.create_run(
            self.experiment_id,
            run_name=name or Path(str(metadata.get("run_dir") or "comparison")).name,
            tags={
                f"{TAG}.kind": str(metadata.get("kind", "compare")),
                f"{TAG}.run_dir": str(metadata.get("run_dir") or ""),
                f"{TAG}.models": _value(labels),
            },
        )
        self.parent_id = run.info.run_id
        params = {
            "kind": metadata.get("kind", "compare"),
            "dataset": dataset.get("name"),
            "dataset.fingerprint": dataset.get("fingerprint"),
            "dataset.n_interactions": dataset.get("n_interactions"),
            "splitter": splitter.get("name"),
            "splitter.params": splitter.get("params"),
            "n_folds": splitter.get("n_splits"),
            "protocol": metadata.get("protocol"),
            "seed": metadata.get("seed"),
            "metrics": [m.get("label") for m in metadata.get("metrics") or []],
        }
        self._log(self.parent_id, params=params)
        return self.parent_id

    def attach(self, parent_id: str) -> None:
        self.parent_id = parent_id

    def logged_tasks(self) -> set[tuple[str, int]]:
        """(model, fold) pairs already logged under the parent."""
        if self.parent_id is None:
            return set()
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{self.parent_id}'",
            max_results=50_000,
        )
        return {
            (r.data.tags.get(f"{TAG}.model", ""), int(r.data.tags.get(f"{TAG}.fold", -1)))
            for r in runs
        }

    # -- one (model, fold) ---------------------------------------------------------------------
    def log_task(self, record: Mapping[str, Any]) -> str:
        """A child run for one finished (model, fold) record; returns its id."""
        if self.parent_id is None:
            raise WorkbenchError("MLflow: no parent run (start_parent first)")
        label, fold = str(record["model"]), int(record["fold"])
        error = record.get("error")
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"{label} fold {fold}",
            tags={
                "mlflow.parentRunId": self.parent_id,
                f"{TAG}.model": label,
                f"{TAG}.fold": str(fold),
                f"{TAG}.model_name": str(record.get("model_name", label)),
                **({f"{TAG}.error": _value(error)} if error else {}),
            },
        )
        params = record.get("params") or {}
        if isinstance(params, str):
            params = json.loads(params)
        metrics = {metric_key(k): v for k, v in (record.get("scores") or {}).items()}
        for key in ("fit_seconds", "predict_seconds", "eval_seconds"):
            if key in record:
                metrics[key] = record[key]
        steps = [
            ("loss", p.get("loss"), int(p.get("epoch", i + 1)))
            for i, p in enumerate(record.get("curve") or [])
        ]
        self._log(
            run.info.run_id,
            params={"model": record.get("model_name", label), "fold": fold, **params,
                    "seed": record.get("seed")},
            metrics=metrics,
            steps=steps,
        )  # fmt: skip
        self.client.set_terminated(run.info.run_id, status="FAILED" if error else "FINISHED")
        return run.info.run_id

    # -- the end of the comparison -------------------------------------------------------------
    def finish(self, results: Any) -> None:
        """Summary metrics and the JSON/HTML artifacts on the parent run, which then ends."""
        from workbench.plugins import get_registry

        if self.parent_id is None:
            raise WorkbenchError("MLflow: no parent run (start_parent first)")
        summary: dict[str, Any] = {}
        if not results.scores.empty:
            grouped = results.scores.groupby(["model", "metric"], sort=False)["value"]
            for (model, metric), values in grouped:
                summary[f"{model}/{metric_key(metric)}_mean"] = values.mean()
                summary[f"{model}/{metric_key(metric)}_std"] = (
                    values.std(ddof=1) if len(values) > 1 else 0.0
                )
        self._log(self.parent_id, metrics=summary)
        with tempfile.TemporaryDirectory(prefix="workbench-mlflow-") as tmp:
            folder = Path(tmp)
            # other plugins' components are found by name, never imported: without an
            # exporter plugin the run is still tracked, only that artifact is missing
            registry = get_registry()
            for exporter, name in (("json", "results.json"), ("html", "report.html")):
                if exporter not in registry.names("exporter"):
                    continue
                registry.create("exporter", exporter).export(results, folder / name)
                self.client.log_artifact(self.parent_id, str(folder / name))
        errors = results.metadata.get("errors") or []
        self.client.set_terminated(self.parent_id, status="FAILED" if errors else "FINISHED")

    # -- writing -------------------------------------------------------------------------------
    def _log(
        self,
        run_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        steps: list[tuple[str, Any, int]] = (),  # type: ignore[assignment]
    ) -> None:
        from mlflow.entities import Metric, Param

        now = int(time.time() * 1000)
        param_list = [
            Param(str(k)[:250], _value(v)) for k, v in (params or {}).items() if v is not None
        ]
        metric_list = [
            Metric(str(k)[:250], x, now, 0)
            for k, v in (metrics or {}).items()
            if (x := _finite(v)) is not None
        ]
        metric_list += [
            Metric(key, x, now, step) for key, v, step in steps if (x := _finite(v)) is not None
        ]
        for start in range(0, max(len(param_list), len(metric_list), 1), 100):
            self.client.log_batch(
                run_id,
                metrics=metric_list[start : start + 100] if start < len(metric_list) else [],
                params=param_list[start : start + 100] if start < len(param_list) else [],
            )


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


# -- run-folder state --------------------------------------------------------------------------
def read_state(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((run_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_state(run_dir: Path, state: Mapping[str, Any]) -> None:
    from workbench.fileio.files import write_atomic

    text = json.dumps(dict(state), indent=2) + "\n"
    write_atomic(run_dir / STATE_FILE, lambda fh: fh.write(text.encode("utf-8")))


def tracker_for_folder(
    run_dir: Path, metadata: Mapping[str, Any], uri: str | None, experiment: str | None
) -> Tracker:
    """The tracker of a run folder: its recorded parent run in the same store, else a new one."""
    tracker = Tracker(uri, experiment)
    state = read_state(run_dir)
    if state and state.get("uri") == tracker.uri and state.get("parent_run_id"):
        tracker.attach(state["parent_run_id"])
        return tracker
    parent = tracker.start_parent({**metadata, "run_dir": str(run_dir)})
    write_state(
        run_dir,
        {"uri": tracker.uri, "experiment_id": tracker.experiment_id, "parent_run_id": parent},
    )
    return tracker
