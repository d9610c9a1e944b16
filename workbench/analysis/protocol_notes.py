"""Protocol warnings: a random split of timestamped data for a run that names time.

A run *names time* when one of its models declares ``uses_timestamps`` (timesvdpp,
timebiases, ...): such a model is evaluated on how it predicts later behaviour, and a random
split lets it train on interactions from after the test ones. The comparison then warns
(`TimeSplitWarning`, a `WorkbenchWarning`: the CLI prints one ``warning:`` line); a temporal
splitter (``temporal``, ``rolling``) avoids it. Switch it off with
``WORKBENCH_TIME_SPLIT_WARNING=0`` or Python's ``warnings.simplefilter("ignore",
TimeSplitWarning)``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from typing import Any

from workbench.errors import WorkbenchWarning

#: splitters that cut by time (or reuse given folds): no warning for them
TIME_AWARE_SPLITTERS = frozenset({"temporal", "rolling", "predefined", "given splits"})
SWITCH = "WORKBENCH_TIME_SPLIT_WARNING"


class TimeSplitWarning(WorkbenchWarning):
    """A random split of timestamped data in a run whose models use time."""


def random_split_of_time(data: Any, splitter: dict[str, Any], models: Iterable[Any]) -> str | None:
    """The warning text when ``splitter`` (its `splitter_info`) splits timestamped ``data``
    at random while a model uses timestamps; None otherwise."""
    if getattr(data, "timestamp", None) is None:
        return None
    name = str(splitter.get("name"))
    params = splitter.get("params") or {}
    if name in TIME_AWARE_SPLITTERS or params.get("by") == "time":
        return None
    timed = [
        getattr(m, "label", "?")
        for m in models
        if getattr(getattr(m, "model", m), "uses_timestamps", False)
    ]
    if not timed:
        return None
    return (
        f"split '{name}' is random, but the data has timestamps and {', '.join(timed)} "
        "use(s) time: the models train on interactions after the test ones (use --split "
        f"temporal or rolling; {SWITCH}=0 silences this)"
    )


def warn_random_split_of_time(data: Any, splitter: dict[str, Any], models: Iterable[Any]) -> None:
    """Issue `TimeSplitWarning` when `random_split_of_time` finds one (unless switched off)."""
    if os.environ.get(SWITCH, "1").strip().lower() in {"0", "false", "no", "off"}:
        return
    message = random_split_of_time(data, splitter, models)
    if message:
        warnings.warn(message, TimeSplitWarning, stacklevel=3)


def candidate_set(metadata: dict[str, Any]) -> str | None:
    """What each user's items were ranked against, for report footers: every unseen item
    of the catalogue (with its size) or, with sampled negatives, a line saying "sampled"."""
    protocol = metadata.get("protocol")
    if not isinstance(protocol, dict):
        return None
    n_items = (metadata.get("dataset") or {}).get("n_items")
    catalogue = f" of {int(n_items):,}" if isinstance(n_items, int) else ""
    negatives = protocol.get("negatives")
    if negatives:
        return (
            f"SAMPLED ranking metrics: each user's relevant items + {int(negatives)} sampled "
            f"unseen non-relevant items{catalogue} (not comparable with full-ranking figures)"
        )
    seen = "every item unseen in train" if protocol.get("exclude_seen", True) else "every item"
    return f"full ranking: {seen} ({'all' if not catalogue else catalogue.strip()[3:]} items)"
