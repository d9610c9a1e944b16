"""A comparison gives bit-identical scores however it is run: with ``--jobs 1`` or
``--jobs 2``, and uninterrupted or SIGKILLed then finished with ``--resume`` (issue 22)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

WORKBENCH = str(Path(sys.executable).with_name("workbench"))
DATA = "synthetic n_users=200 n_items=120 n_interactions=5000 seed=9"
#: One model per numba family (and the pure-numpy biases), a few epochs each.
MODELS = [
    "sgd n_epochs=5",
    "svdpp n_epochs=3",
    "als n_iterations=4",
    "als n_iterations=3 method=vb",
    "nmf-observed n_epochs=5",
    "item-knn",
    "biases",
]


def _compare(run: Path, *extra: str, models: list[str] = MODELS) -> list[str]:
    args = [WORKBENCH, "compare", "-d", DATA, "-s", "kfold n_folds=3", "--metric", "rmse"]
    args += ["--metric", "ndcg@10", "--seed", "4", "--run-dir", str(run), "--quiet", *extra]
    for model in models:
        args += ["-m", model]
    return args


def _outcome(run: Path) -> dict[tuple[str, int], tuple]:
    """(model, fold) -> (scores, training losses) of a run folder, exactly as stored."""
    out = {}
    for line in (run / "results.jsonl").read_text().splitlines():
        rec = json.loads(line)
        assert rec["error"] is None, rec["error"]
        losses = [point["loss"] for point in rec["curve"]]
        out[(rec["model"], rec["fold"])] = (rec["scores"], losses)
    return out


def _assert_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        # compared as JSON text: bit-identical floats, NaN equal to NaN
        assert json.dumps(a[key]) == json.dumps(b[key]), key


def test_jobs_1_and_jobs_2_give_identical_scores(tmp_path: Path):
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    for run, jobs in ((serial, "1"), (parallel, "2")):
        done = subprocess.run(
            _compare(run, "--jobs", jobs), capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, done.stderr
    outcome = _outcome(serial)
    assert len(outcome) == len(MODELS) * 3
    _assert_identical(outcome, _outcome(parallel))


def test_sigkilled_then_resumed_run_matches_an_uninterrupted_one(tmp_path: Path):
    # each run starts on an empty numba cache: the uninterrupted one runs every task on
    # freshly compiled kernels, the resumed one on kernels the killed run cached
    models = ["als n_iterations=15", "sgd n_epochs=150 n_factors=30"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    env_whole = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache-whole")}
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache-killed")}
    done = subprocess.run(
        _compare(whole, models=models), capture_output=True, text=True, env=env_whole
    )
    assert done.returncode == 0, done.stderr
    proc = subprocess.Popen(
        _compare(killed, models=models), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    results = killed / "results.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (results.exists() and results.read_text().strip()):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the kill arrived")
    kept = results.read_text().splitlines()
    assert 1 <= len(kept) < 6
    resumed = subprocess.run(
        [WORKBENCH, "compare", "--resume", "--run-dir", str(killed), "--quiet"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert results.read_text().splitlines()[: len(kept)] == kept
    _assert_identical(_outcome(whole), _outcome(killed))
