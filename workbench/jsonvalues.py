"""JSON values, in one place: what run folders, exports and ``--json`` output write.

`normalise` is what a value looks like once written and read back (NaN kept, as run folders
store it); `strict` is the same with NaN and infinities as ``null`` (standard JSON, for exports
and other programs); `dumps` writes either with numpy scalars and arrays, tuples, sets and
paths handled.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def default(obj: Any) -> Any:
    """``json.dumps(default=...)``: numpy scalars and arrays, sets and tuples; else ``str``."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    return str(obj)


def dumps(value: Any, **kwargs: Any) -> str:
    """`json.dumps` with `default` (NaN written as ``NaN`` unless ``allow_nan=False``)."""
    return json.dumps(value, default=default, **kwargs)


def normalise(value: Any) -> Any:
    """A JSON round trip: what the value looks like once written and read back."""
    return json.loads(dumps(value, allow_nan=True))


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def strict(value: Any) -> Any:
    """`normalise`, with NaN and infinities as None (standard JSON)."""
    return _finite(normalise(value))
