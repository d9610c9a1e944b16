"""The runner's Ray backend, on an in-process Ray instance (``ray.init(num_cpus=1)``).

Skipped where Ray is not installed (CI: ``pip install '.[ray]'`` is not part of it). The same
comparison gives the same scores on Ray as in the main process, results reach the run folder
as each task finishes (resume works), epochs travel back, models that cannot fork stay in the
main process, and tasks still running when the caller stops are cancelled.
"""

from __future__ import annotations

import time

import pytest
from backend_helpers import (
    check_main_only_models_stay_home,
    check_scores_progress_and_resume,
    check_tune,
)

from workbench.backend import resolve_backend

ray = pytest.importorskip("ray", reason="ray is not installed (pip install '.[ray]')")
if not hasattr(ray, "init"):  # a bare folder named ray (Ray's /tmp/ray, from /tmp)
    pytest.skip("ray is not installed (pip install '.[ray]')", allow_module_level=True)

from workbench_cluster.backends import ray_session, ray_unordered  # noqa: E402


@pytest.fixture(scope="module")
def session():
    """A fresh one-CPU Ray instance in this process (never an outside cluster)."""
    ray.init(
        address="local",
        num_cpus=1,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="WARNING",
    )
    yield
    ray.shutdown()


def test_ray_gives_the_serial_scores_progress_and_a_resumable_run(session, tmp_path):
    notes = check_scores_progress_and_resume(tmp_path, backend="ray")
    assert any("running 9 task(s) on ray" in note for note in notes)
    assert ray.is_initialized(), "a session the caller opened stays open"


def test_tune_on_ray(session):
    check_tune(backend="ray")


def test_ray_keeps_models_that_cannot_fork_in_the_main_process(session, tmp_path, monkeypatch):
    check_main_only_models_stay_home(tmp_path, monkeypatch, backend="ray")


def test_ray_unordered_streams_caps_and_cancels(session):
    def work(seconds: float, value: int) -> int:
        time.sleep(seconds)
        return value

    with ray_session(resolve_backend("ray")):
        assert sorted(ray_unordered(work, [(0, i) for i in range(5)], 2)) == list(range(5))
        # one at a time: the long task is submitted after the first result; closing the
        # generator cancels it, so the CPU is free again long before it would have finished
        results = ray_unordered(work, [(0, 1), (60, 2)], 1)
        assert next(results) == 1
        time.sleep(0.5)
        results.close()
        deadline = time.monotonic() + 20
        while ray.available_resources().get("CPU", 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ray.available_resources().get("CPU", 0) == 1
    assert ray.is_initialized()
