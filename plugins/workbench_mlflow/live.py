"""Live tracking on the ``on_run_finished`` event, switched on by ``WORKBENCH_MLFLOW``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV = "WORKBENCH_MLFLOW"
ENV_EXPERIMENT = "WORKBENCH_MLFLOW_EXPERIMENT"
_OFF = ("", "0", "false", "no", "off")
_ON = ("1", "true", "yes", "on")
#: One tracker per (run folder, store) in this process.
_TRACKERS: dict[tuple[str, str | None], Any] = {}


def configured_uri() -> tuple[bool, str | None]:
    """(tracking on?, URI or None for the default store) from ``WORKBENCH_MLFLOW``."""
    value = os.environ.get(ENV, "").strip()
    if value.lower() in _OFF:
        return False, None
    return True, (None if value.lower() in _ON else value)


def on_finished(run: Mapping[str, Any]) -> None:
    """Log one finished (model, fold); end the parent run when the comparison is complete."""
    on, uri = configured_uri()
    if not on or not run.get("run_dir"):
        return
    from workbench.experiments.compare import load_run
    from workbench.experiments.runfolder import RunFolder
    from workbench_mlflow.tracking import tracker_for_folder

    folder = Path(str(run["run_dir"]))
    meta = RunFolder(folder).read_metadata()
    key = (str(folder.resolve()), uri)
    tracker = _TRACKERS.get(key)
    if tracker is None:
        tracker = tracker_for_folder(folder, meta, uri, os.environ.get(ENV_EXPERIMENT))
        _TRACKERS[key] = tracker
    tracker.log_task(run)
    if (meta.get("tune") or {}).get("search") == "tpe":
        return  # the study decides when it ends: export with --export mlflow to close it
    n_folds = int((meta.get("splitter") or {}).get("n_splits") or 0)
    total = len(meta.get("models") or []) * n_folds
    done = {(str(r["model"]), int(r["fold"])) for r in RunFolder(folder).records()}
    if total and len(done) >= total:
        tracker.finish(load_run(folder))
        _TRACKERS.pop(key, None)
