"""Stands in for pytest where it is not installed, so `workbench.testing` imports anyway.

The data helpers of `workbench.testing` (``low_rank_ratings``) work without pytest; the
contract suite (`ModelContract`) is collected and run by pytest. Without it, fixtures and
marks are plain decorators at import time, and running a check that needs pytest
(``raises``, ``skip``) says so in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.errors import MissingDependency


def _needs_pytest(*args: Any, **kwargs: Any) -> Any:
    raise MissingDependency("pytest", "pip install pytest: the model contract suite runs on it")


def fixture(*args: Any, **kwargs: Any) -> Any:
    """``@fixture`` and ``@fixture(...)``: the function unchanged."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda fn: fn


class _Marks:
    def __getattr__(self, name: str) -> Callable[..., Any]:
        def mark(*args: Any, **kwargs: Any) -> Any:
            if len(args) == 1 and callable(args[0]) and not kwargs:
                return args[0]
            return lambda fn: fn

        return mark


mark = _Marks()
raises = skip = fail = xfail = importorskip = approx = _needs_pytest
