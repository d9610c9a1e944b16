"""The runner's Ray backend, on an in-process Ray instance (``ray.init(num_cpus=1)``).

Skipped where Ray is not installed (CI: ``pip install '.[ray]'`` is not part of it). The same
comparison gives the same scores on Ray as in the main process, results reach the run folder
as each task finishes (resume works), epochs travel back, models that cannot fork stay in the
main process, and tasks still running when the caller stops are cancelled.
"""

from __future__ import annotations

import json
import os
import time

import pytest

import workbench as wb
from workbench.backends import Backend, ray_session, ray_unordered
from workbench.runner import Progress
from workbench.testing import low_rank_ratings

ray = pytest.importorskip("ray", reason="ray is not installed (pip install '.[ray]')")
if not hasattr(ray, "init"):  # a bare folder named ray (Ray's /tmp/ray, from /tmp)
    pytest.skip("ray is not installed (pip install '.[ray]')", allow_module_level=True)

MODELS = ["biases", "sgd n_epochs=4 n_factors=4", "popularity"]


class Recorder(Progress):
    def __init__(self):
        self.started, self.epochs, self.finished, self.notes = [], [], [], []

    def task_started(self, label, fold):
        self.started.append((label, fold))

    def epoch(self, label, fold, info):
        self.epochs.append((label, fold, info.epoch))

    def task_finished(self, record):
        self.finished.append(record)

    def note(self, text):
        self.notes.append(text)


def _scores(results):
    frame = results.scores.sort_values(["model", "fold", "metric"]).reset_index(drop=True)
    return frame[["model", "fold", "metric", "value"]]


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
    data = low_rank_ratings(n_users=50, n_items=40)
    serial = wb.compare(data, "kfold n_folds=3", MODELS, ["rmse"])
    progress = Recorder()
    remote = wb.compare(
        data,
        "kfold n_folds=3",
        MODELS,
        ["rmse"],
        backend="ray",
        run_dir=tmp_path / "run",
        progress=progress,
    )
    assert _scores(remote).equals(_scores(serial))
    assert len(progress.finished) == 9 and len(set(progress.started)) == 9
    assert {(label, fold) for label, fold, _ in progress.epochs} >= {
        ("sgd", f) for f in range(3)
    }, "epoch events travel back from the ray tasks"
    assert any("running 9 task(s) on ray" in note for note in progress.notes)
    assert not any("no live training progress" in note for note in progress.notes)
    assert ray.is_initialized(), "a session the caller opened stays open"

    path = tmp_path / "run" / "results.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:5]) + "\n")
    resumed = wb.compare(
        data,
        "kfold n_folds=3",
        MODELS,
        ["rmse"],
        backend="ray",
        run_dir=tmp_path / "run",
        resume=True,
    )
    assert _scores(resumed).equals(_scores(serial))
    assert len([json.loads(x) for x in path.read_text().splitlines()]) == 9


def test_tune_on_ray(session):
    data = low_rank_ratings(n_users=40, n_items=30)
    args = (data, "kfold n_folds=2", "sgd n_epochs=3", ["n_factors=2,4"], "rmse")
    local = wb.tune(*args)
    remote = wb.tune(*args, backend="ray")
    assert remote.best_params == local.best_params
    assert remote.best_score == pytest.approx(local.best_score, abs=1e-12)


def test_ray_keeps_models_that_cannot_fork_in_the_main_process(session, tmp_path, monkeypatch):
    from test_contract_v2 import PIDS_FILE, MainOnly

    monkeypatch.setenv(PIDS_FILE, str(tmp_path / "pids"))
    progress = Recorder()
    results = wb.compare(
        low_rank_ratings(n_users=40, n_items=30),
        "kfold n_folds=2",
        ["biases", ("main-only", MainOnly())],
        ["rmse"],
        backend="ray",
        progress=progress,
    )
    pids = {int(line) for line in (tmp_path / "pids").read_text().split()}
    assert pids == {os.getpid()}
    assert set(results.models) == {"biases", "main-only"}


def test_ray_unordered_streams_caps_and_cancels(session):
    def work(seconds: float, value: int) -> int:
        time.sleep(seconds)
        return value

    with ray_session(Backend("ray")):
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
