"""recsys-workbench's core: the contract every plugin builds on. The modules at this level
define the hooks (`workbench.hookspecs`), the data type (`Interactions`), the contracts of
each plugin kind (`Model`, `Metric`, ...), the evaluation protocol and model files;
sub-packages hold the features built on them (`api`, `cli`, `analysis`, ...).

Everything users pick by name is a plugin; see docs/architecture.md for the layout.
"""

from workbench import _moved
from workbench import api as _api_names
from workbench.capabilities import Capabilities, ColdStart
from workbench.component import Component
from workbench.data import IdMap, Interactions
from workbench.dataset import Dataset
from workbench.errors import (
    DataError,
    MissingDependency,
    ModelFileError,
    NotFittedError,
    ParamError,
    PluginError,
    TrainingDiverged,
    UnknownNameError,
    WorkbenchError,
)
from workbench.exporter import Exporter
from workbench.factor.embedding import (
    EmbeddingModel,
    FactorModel,
    RankingFactorModel,
    RatingFactorModel,
)
from workbench.hookspecs import hookimpl
from workbench.metric import Metric
from workbench.model import EpochInfo, FoldedUsers, Model
from workbench.params import Params
from workbench.plugin_api import PLUGIN_API_VERSION
from workbench.results import Results
from workbench.splits import Split, Splitter
from workbench.user_state import UserState

__all__ = [
    "PLUGIN_API_VERSION",
    "Capabilities",
    "ColdStart",
    "Component",
    "DataError",
    "Dataset",
    "EmbeddingModel",
    "EpochInfo",
    "Exporter",
    "FactorModel",
    "FoldedUsers",
    "IdMap",
    "Interactions",
    "Metric",
    "MissingDependency",
    "Model",
    "ModelFileError",
    "NotFittedError",
    "Params",
    "ParamError",
    "PluginError",
    "RankingFactorModel",
    "RatingFactorModel",
    "Results",
    "Split",
    "Splitter",
    "TrainingDiverged",
    "UnknownNameError",
    "UserState",
    "WorkbenchError",
    "hookimpl",
]

_moved.install()

#: The Python API's names (`workbench.api`); its workflows are imported on first use, so
#: ``import workbench`` stays light (the package itself only maps names to modules).
_API = frozenset(_api_names.__all__)


def __getattr__(name: str):
    if name in _API:
        from workbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
