"""Turning what a user types into the core's objects: ``key=value`` options, component specs,
dataset specs and splitters, a new user's history file, a model file's target path, the
evaluation protocol; and the helpers that write what the CLI prints or saves (JSON, atomic
files) and the facts and notes shown about data.

The CLI imports these from here, never from the core modules, so the API is the one layer
between a command line and the contract.
"""

from __future__ import annotations

from workbench.analysis.activity import activity_buckets, plot_activity
from workbench.analysis.data_notes import data_facts, data_notes
from workbench.analysis.describe import QUANTILES
from workbench.experiments.loading import dataset_spec, make_splitter
from workbench.experiments.loading import read_file as read_history
from workbench.fileio.files import write_atomic
from workbench.jsonvalues import dumps
from workbench.params import parse_assignments as parse_options
from workbench.protocol import EvaluationProtocol
from workbench.specs import parse_spec
from workbench.storage import model_target

__all__ = [
    "QUANTILES",
    "EvaluationProtocol",
    "activity_buckets",
    "data_facts",
    "data_notes",
    "dataset_spec",
    "dumps",
    "make_splitter",
    "model_target",
    "parse_options",
    "parse_spec",
    "plot_activity",
    "read_history",
    "write_atomic",
]
