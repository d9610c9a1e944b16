"""Optuna's TPE search strategy, ``tpe`` (optional: ``pip install 'recsys-workbench[optuna]'``).

Unavailable, with that install hint, when optuna is not installed. See
`workbench_optuna.study` for the study, its pruning and how it resumes.
"""

from __future__ import annotations

import importlib.util

from workbench import MissingDependency, hookimpl

HINT = "pip install 'recsys-workbench[optuna]'"

try:
    _FOUND = importlib.util.find_spec("optuna") is not None
except ValueError:  # optuna is in sys.modules as None (imports of it fail)
    _FOUND = False
if not _FOUND:  # cheap: optuna itself loads only when a search uses it
    raise MissingDependency("optuna", HINT)


@hookimpl
def register_strategies(register):
    from workbench_optuna.study import TPE

    register(TPE)
