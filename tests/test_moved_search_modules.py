"""The comparison and search modules moved into sub-packages and plugins; their old import
paths still work, as the same module objects, with a DeprecationWarning naming the new path."""

from __future__ import annotations

import importlib
import sys

import pytest

OLD_TO_NEW = {
    "workbench.experiment": "workbench.experiments.compare",
    "workbench.runner": "workbench.experiments.runner",
    "workbench.runfolder": "workbench.experiments.runfolder",
    "workbench.experiment_config": "workbench.experiments.config",
    "workbench.tuning": "workbench.search.tuning",
    "workbench.search_space": "workbench.search.space",
    "workbench.nested": "workbench.search.nested",
    "workbench.optuna_search": "workbench_optuna.study",
    "workbench.backends": "workbench_cluster.backends",
}


@pytest.mark.parametrize("old", sorted(OLD_TO_NEW))
def test_the_old_path_is_the_new_module_with_a_warning(old, monkeypatch):
    new = importlib.import_module(OLD_TO_NEW[old])
    monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {OLD_TO_NEW[old]}"):
        module = importlib.import_module(old)
    assert module is new


def test_the_old_public_names_are_still_there(monkeypatch):
    from workbench.experiments.compare import compare
    from workbench.search.tuning import tune

    for old in ("workbench.experiment", "workbench.tuning"):
        monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning):
        from workbench.experiment import compare as old_compare
        from workbench.tuning import tune as old_tune
    assert old_compare is compare and old_tune is tune
