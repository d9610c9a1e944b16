"""Old import paths of modules that moved, kept working with a deprecation warning.

The plugin API promise (docs/plugins.md, "Stability"): a documented import path keeps working
for at least one minor version after it moves, and warns with the new path. `MOVED` maps each
old dotted name to the new one; a meta-path finder installed by ``import workbench`` serves the
old name as an alias of the new module (the same module object, so ``isinstance`` checks and
monkeypatching agree).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

#: old dotted module name -> new dotted module name
MOVED: dict[str, str] = {
    # reading and writing files: workbench/fileio/; readers only the datasets plugin uses
    "workbench.files": "workbench.fileio.files",
    "workbench.textfile": "workbench.fileio.textfile",
    "workbench.datalimits": "workbench.fileio.datalimits",
    "workbench.arrowinput": "workbench.fileio.arrowinput",
    "workbench.numeric_text": "workbench_datasets.numeric_text",
    "workbench._numeric_text_kernels": "workbench_datasets._numeric_text_kernels",
    "workbench.idcodes": "workbench_datasets.idcodes",
    "workbench.columnbuffer": "workbench_datasets.columnbuffer",
    "workbench.loading": "workbench.experiments.loading",
    # the building blocks of MF models: workbench/factor/
    "workbench.embedding": "workbench.factor.embedding",
    "workbench.fold_in": "workbench.factor.fold_in",
    "workbench.resolve": "workbench.experiments.resolve",
    "workbench.stats": "workbench.analysis.stats",
    "workbench.describe": "workbench.analysis.describe",
    "workbench.data_notes": "workbench.analysis.data_notes",
    # the comparison machinery: workbench/experiments/
    "workbench.experiment": "workbench.experiments.compare",
    "workbench.runner": "workbench.experiments.runner",
    "workbench.runfolder": "workbench.experiments.runfolder",
    "workbench.experiment_config": "workbench.experiments.config",
    # the search machinery: workbench/search/ and the plugins of its strategies and backends
    "workbench.tuning": "workbench.search.tuning",
    "workbench.search_space": "workbench.search.space",
    "workbench.nested": "workbench.search.nested",
    "workbench.optuna_search": "workbench_optuna.study",
    "workbench.backends": "workbench_cluster.backends",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.new}; import it from there "
            f"(the old path is deprecated and will be removed in a later minor version)",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(self.new)

    def exec_module(self, module: ModuleType) -> None:  # the new module is already executed
        return None


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001 (importlib's API)
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new))


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
