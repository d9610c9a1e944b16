"""Fixtures of the example plugin's tests (they run against the installed workbench)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: The checkout holding this example (examples/workbench-example/tests -> the repository).
REPO = Path(__file__).resolve().parents[3]


def data_dir() -> Path | None:
    """Real datasets: $WORKBENCH_DATA_DIR, else ../shared/data beside the checkout (as the
    main tests look for them)."""
    env = os.environ.get("WORKBENCH_DATA_DIR")
    if env:
        return Path(env)
    candidate = REPO.parent / "shared" / "data"
    return candidate if candidate.exists() else None


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    path = data_dir()
    if path is None or not path.exists():
        pytest.skip("real datasets not found: set WORKBENCH_DATA_DIR")
    return path
