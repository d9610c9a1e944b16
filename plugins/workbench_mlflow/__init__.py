"""MLflow tracking for comparisons (optional: ``pip install 'recsys-workbench[mlflow]'``).

- Live: with ``WORKBENCH_MLFLOW`` set (``1`` for the local ``mlruns`` store, or a tracking
  URI / folder), every finished (model, fold) of a comparison with a run folder is logged as
  it finishes (the ``on_run_finished`` event), under one parent run per comparison; the
  parent gets the summary and the JSON/HTML artifacts when the last task is in.
  ``WORKBENCH_MLFLOW_EXPERIMENT`` names the experiment (default ``workbench``).
- Afterwards: the ``mlflow`` exporter (``--export mlflow``, ``workbench report RUN_DIR
  --export "mlflow uri=..."``) logs a finished comparison, skipping what live tracking
  already logged.

See `workbench_mlflow.tracking` for what is logged where.
"""

from __future__ import annotations

import importlib.util

from workbench import MissingDependency, hookimpl

HINT = "pip install 'recsys-workbench[mlflow]'"

if importlib.util.find_spec("mlflow") is None:  # cheap: mlflow itself loads only when used
    raise MissingDependency("mlflow", HINT)


@hookimpl
def register_exporters(register):
    from workbench_mlflow.exporter import MlflowExporter

    register(MlflowExporter)


@hookimpl
def on_run_finished(run):
    from workbench_mlflow.live import on_finished

    on_finished(run)
