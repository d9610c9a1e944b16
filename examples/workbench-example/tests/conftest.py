"""Fixtures of the example plugin's tests (they run against the installed workbench)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """Real datasets: $WORKBENCH_DATA_DIR (skipped when unset)."""
    path = os.environ.get("WORKBENCH_DATA_DIR")
    if not path or not Path(path).exists():
        pytest.skip("real datasets not found: set WORKBENCH_DATA_DIR")
    return Path(path)
