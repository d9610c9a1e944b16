"""What the backend tests share: a progress recorder, comparable scores, and the checks every
cluster backend must pass (dask in test_backends.py, ray in test_backends_ray.py)."""

from __future__ import annotations

import json
import os

import pytest

import workbench as wb
from workbench.experiments.runner import Progress
from workbench.testing import low_rank_ratings


class Recorder(Progress):
    """Every progress call, kept for the assertions."""

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


def scores(results):
    """(model, fold, metric, value) rows in a fixed order."""
    frame = results.scores.sort_values(["model", "fold", "metric"]).reset_index(drop=True)
    return frame[["model", "fold", "metric", "value"]]


MODELS = ["biases", "sgd n_epochs=4 n_factors=4", "popularity"]


def check_scores_progress_and_resume(tmp_path, **where):
    """A comparison on the cluster ``where`` (backend=..., scheduler=...): the serial scores,
    every task reported, epochs back from the workers, and a run folder that resumes there
    (four finished records dropped, finished again). Returns the progress notes."""
    data = low_rank_ratings(n_users=50, n_items=40)
    serial = wb.compare(data, "kfold n_folds=3", MODELS, ["rmse"])
    progress = Recorder()
    run = tmp_path / "run"
    remote = wb.compare(data, "kfold n_folds=3", MODELS, ["rmse"], run_dir=run,
                        progress=progress, **where)  # fmt: skip
    assert scores(remote).equals(scores(serial))
    assert len(progress.finished) == 9 and len(set(progress.started)) == 9
    assert {(label, fold) for label, fold, _ in progress.epochs} >= {
        ("sgd", f) for f in range(3)
    }, "epoch events travel back from the workers"
    assert not any("no live training progress" in note for note in progress.notes)

    path = run / "results.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:5]) + "\n")
    resumed = wb.compare(data, "kfold n_folds=3", MODELS, ["rmse"], run_dir=run, resume=True,
                         **where)  # fmt: skip
    assert scores(resumed).equals(scores(serial))
    assert len([json.loads(x) for x in path.read_text().splitlines()]) == 9
    return progress.notes


def check_main_only_models_stay_home(tmp_path, monkeypatch, **where):
    """A model that cannot fork runs in this process, the others on the cluster."""
    from test_contract_v2 import PIDS_FILE, MainOnly

    monkeypatch.setenv(PIDS_FILE, str(tmp_path / "pids"))
    progress = Recorder()
    results = wb.compare(
        low_rank_ratings(n_users=40, n_items=30),
        "kfold n_folds=2",
        ["biases", ("main-only", MainOnly())],
        ["rmse"],
        progress=progress,
        **where,
    )
    pids = {int(line) for line in (tmp_path / "pids").read_text().split()}
    assert pids == {os.getpid()}
    assert set(results.models) == {"biases", "main-only"}
    assert any("main-only: cannot run in a worker process" in n for n in progress.notes)


def check_tune(**where):
    """`tune` on the cluster picks what it picks in this process."""
    data = low_rank_ratings(n_users=40, n_items=30)
    args = (data, "kfold n_folds=2", "sgd n_epochs=3", ["n_factors=2,4"], "rmse")
    local = wb.tune(*args)
    remote = wb.tune(*args, **where)
    assert remote.best_params == local.best_params
    assert remote.best_score == pytest.approx(local.best_score, abs=1e-12)
