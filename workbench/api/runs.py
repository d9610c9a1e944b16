"""Comparisons and searches as the CLI drives them: experiment files, spec resolution, the
comparison and search entry points with their outcomes, run folders, progress events and
execution backends.

Scripts use the workflows of `workbench.api` (``compare``, ``tune``, ...); the command line
needs a few more handles (a run folder's finished count, a TOML file's key lines, the
progress-event base class it renders), and takes them from here, never from the core
modules themselves.
"""

from __future__ import annotations

from workbench.backend import resolve_backend
from workbench.experiments.compare import compare, load_run
from workbench.experiments.config import load_experiment, locate_param_error
from workbench.experiments.request import ExperimentRequest, build_request
from workbench.experiments.resolve import resolve_metrics, resolve_models
from workbench.experiments.runfolder import RunFolder
from workbench.experiments.runner import Progress as ProgressEvents
from workbench.fileio.files import write_atomic
from workbench.search.nested import nested_tune
from workbench.search.tuning import (
    TuneResult,
    resume_tune,
    strategies,
    tune,
    unavailable_plugins,
)

__all__ = [
    "ExperimentRequest",
    "build_request",
    "ProgressEvents",
    "RunFolder",
    "TuneResult",
    "compare",
    "load_experiment",
    "load_run",
    "locate_param_error",
    "nested_tune",
    "resolve_backend",
    "resolve_metrics",
    "resolve_models",
    "resume_tune",
    "strategies",
    "tune",
    "unavailable_plugins",
    "write_atomic",
]
