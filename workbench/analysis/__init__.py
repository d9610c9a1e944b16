"""What results and data say, beyond the fold means: paired significance tests over folds
(`stats`), performance by user activity (`activity`), what a dataset and its splits look like
(`describe`) and what a user should be told about the data of a run (`data_notes`).

Everything here reads the contract's types (`Interactions`, `Split`, `Results`, per-user
frames) and returns plain tables or JSON-able dicts; nothing here trains a model.
"""

from __future__ import annotations

import warnings
from typing import Any

#: names the first form of this module (``workbench/analysis.py``) offered, now in `activity`
_ACTIVITY = frozenset(
    ["INFO_COLUMNS", "activity_buckets", "activity_records", "bucket_labels",
     "default_panels", "plot_activity"]
)  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _ACTIVITY:
        warnings.warn(
            f"workbench.analysis.{name} moved to workbench.analysis.activity.{name}; "
            "import it from there (the old path is deprecated)",
            DeprecationWarning,
            stacklevel=2,
        )
        from workbench.analysis import activity

        return getattr(activity, name)
    raise AttributeError(f"module 'workbench.analysis' has no attribute {name!r}")
