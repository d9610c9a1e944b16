"""The benchmark suites: a small registry of functions that return JSON records.

A suite is ``fn(ctx: Context) -> list[dict]``, registered with ``@suite("name")`` in a module
``benchmarks/suite_*.py`` (found and imported by `load_suites`). Every record is a flat
JSON object with a ``kind`` that `benchmarks.report` knows how to tabulate:

- ``accuracy``: ``model``, ``library`` ("workbench" or the reference's name), ``setting``
  ("defaults", "same parameters as ..."), ``data``, metric fields (``rmse``, ``mae``,
  ``precision@10``, ``recall@10``, ``ndcg@10``, ``hitrate@10``) and ``fit_s``;
- ``speed``: ``task`` (fit, recommend-all), ``data``, ``ours``/``reference`` (names),
  ``ours_s``/``reference_s`` (medians of alternated runs), ``ratio`` (reference / ours),
  ``runs``, ``warmup_s`` (first call minus the median: compile or JIT time);
- ``scale``: ``step``, ``rows``, ``seconds``, ``peak_gb`` and a ``note``;
- ``missing``: a reference library that would not install or import (``library``, ``why``).

Helpers writing another suite (ALS/NMF, PyTorch) add one module here; the report picks up
their records from ``benchmarks/results/<suite>.json`` without changes.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
Record = dict[str, Any]
SuiteFn = Callable[["Context"], list[Record]]
SUITES: dict[str, SuiteFn] = {}


@dataclass
class Context:
    """What a suite is asked for: ``quick`` (minutes) or full, and ``tiny`` test data (the CI
    smoke test: everything runs, nothing is meaningful)."""

    quick: bool = True
    tiny: bool = False
    repeat: int = 3

    @property
    def mode(self) -> str:
        return "tiny" if self.tiny else "quick" if self.quick else "full"


def suite(name: str) -> Callable[[SuiteFn], SuiteFn]:
    """Register ``fn`` as the suite ``name``."""

    def register(fn: SuiteFn) -> SuiteFn:
        SUITES[name] = fn
        return fn

    return register


def load_suites() -> dict[str, SuiteFn]:
    """Import every ``benchmarks/suite_*.py`` module (each registers its suites)."""
    folder = Path(__file__).parent
    for info in pkgutil.iter_modules([str(folder)]):
        if info.name.startswith("suite_"):
            importlib.import_module(f"benchmarks.{info.name}")
    return SUITES


def data_dir() -> Path:
    return Path(os.environ.get("WORKBENCH_DATA_DIR", ROOT.parent / "shared" / "data"))
