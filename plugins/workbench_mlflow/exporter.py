"""The ``mlflow`` exporter: log a finished comparison to an MLflow tracking store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from workbench.exporter import Exporter
from workbench.params import Params


class MlflowParams(Params):
    uri: str | None = Field(
        None,
        description="tracking URI (http://..., sqlite:///..., file:...) or a local folder "
        "(default: $WORKBENCH_MLFLOW if it names a store, else ./mlruns)",
    )
    experiment: str | None = Field(
        None, description="experiment name (default: $WORKBENCH_MLFLOW_EXPERIMENT or workbench)"
    )
    run_name: str | None = Field(None, description="name of the parent run (default: run folder)")
    path: str | None = Field(
        None,
        description="also write where the runs went (tracking URI, experiment and parent run "
        "ids) to this JSON file",
    )


def records_of(results: Any) -> list[dict[str, Any]]:
    """Per-(model, fold) records: from the run folder when there is one, else the frames."""
    run_dir = results.metadata.get("run_dir")
    if run_dir and Path(run_dir, "results.jsonl").exists():
        from workbench.experiments.compare import ordered_records
        from workbench.experiments.runfolder import RunFolder

        labels = [m["label"] for m in results.metadata.get("models", [])]
        return ordered_records(RunFolder(run_dir).records(), labels)
    out = []
    for row in results.runs.to_dict(orient="records"):
        model, fold = row["model"], int(row["fold"])
        scores, curves = results.scores, results.curves
        sub = scores[(scores["model"] == model) & (scores["fold"] == fold)]
        curve = curves[(curves["model"] == model) & (curves["fold"] == fold)]
        params = row.get("params")
        out.append(
            {
                **row,
                "fold": fold,
                "params": json.loads(params) if isinstance(params, str) else params or {},
                "scores": dict(zip(sub["metric"], sub["value"], strict=True)),
                "curve": curve.drop(columns=["model", "fold"]).to_dict(orient="records"),
            }
        )
    return out


class MlflowExporter(Exporter):
    """Log the comparison to MLflow: a parent run (summary metrics, results.json and
    report.html as artifacts) with one child run per (model, fold): parameters, scores,
    timings and the learning curve. Tasks already logged live are not logged again."""

    name: ClassVar[str] = "mlflow"
    extension: ClassVar[str | None] = None
    Params: ClassVar[type[Params]] = MlflowParams

    def export(self, results: Any, path: Path | None = None) -> Path | None:
        import os

        from workbench_mlflow.live import ENV_EXPERIMENT, configured_uri
        from workbench_mlflow.tracking import Tracker, resolve_uri, tracker_for_folder

        p = self.params
        uri = p.uri if p.uri is not None else configured_uri()[1]
        experiment = p.experiment or os.environ.get(ENV_EXPERIMENT)
        run_dir = results.metadata.get("run_dir")
        if run_dir:
            tracker = tracker_for_folder(Path(run_dir), results.metadata, uri, experiment)
        else:
            tracker = Tracker(uri, experiment)
            tracker.start_parent(results.metadata, p.run_name)
        logged = tracker.logged_tasks()
        for record in records_of(results):
            if (str(record["model"]), int(record["fold"])) not in logged:
                tracker.log_task(record)
        tracker.finish(results)
        target = path if path is not None else (Path(p.path) if p.path else None)
        if target is not None:
            from workbench.fileio.files import write_atomic

            where = {
                "tracking_uri": tracker.uri,
                "experiment_id": tracker.experiment_id,
                "parent_run_id": tracker.parent_id,
            }
            text = json.dumps(where, indent=2) + "\n"
            write_atomic(target, lambda fh: fh.write(text.encode("utf-8")))
            return target
        local = resolve_uri(uri)[1]
        return local.parent if local is not None else None
