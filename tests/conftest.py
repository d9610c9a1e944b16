"""Shared fixtures: real-data location, a fresh plugin registry per test when needed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path | None:
    """Where the real datasets are: $WORKBENCH_DATA_DIR, else ../shared/data if present."""
    env = os.environ.get("WORKBENCH_DATA_DIR")
    if env:
        return Path(env)
    candidate = ROOT.parent / "shared" / "data"
    return candidate if candidate.exists() else None


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    path = data_dir()
    if path is None or not path.exists():
        pytest.skip("real datasets not found: set WORKBENCH_DATA_DIR")
    return path


@pytest.fixture
def fresh_plugins():
    """Reset the process-wide plugin registry before and after a test."""
    from workbench.plugins import set_loaded

    set_loaded(None)
    yield
    set_loaded(None)
