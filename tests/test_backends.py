"""The runner's parallel backends: local processes (default) and a `dask.distributed` cluster
(Ray: tests/test_backends_ray.py).

A LocalCluster (2 worker processes, 127.0.0.1 only) is started by the module fixture; the same
comparison gives the same scores there as in the main process, run folders resume on either,
progress events arrive, and models that cannot fork stay in the main process.
"""

from __future__ import annotations

import json
import os

import pytest

import workbench as wb
from workbench.backends import Backend, n_jobs_for, resolve_backend
from workbench.errors import ClusterError, MissingDependency, ParamError
from workbench.runner import Progress
from workbench.testing import low_rank_ratings

MODELS = ["biases", "sgd n_epochs=4 n_factors=4", "popularity"]


def test_resolve_backend():
    assert resolve_backend() == Backend("local") == resolve_backend("loky")
    with pytest.raises(ParamError, match="one of local, dask, ray"):
        resolve_backend("spark")
    with pytest.raises(ParamError, match="needs the scheduler address"):
        resolve_backend("dask")
    with pytest.raises(ParamError, match="needs --backend dask or ray"):
        resolve_backend("local", "tcp://127.0.0.1:1")
    assert n_jobs_for(Backend("dask", "tcp://x:1"), 1) == -1
    assert n_jobs_for(Backend("local"), 1) == 1


def test_missing_cluster_package_is_a_clear_error(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a)
    )
    with pytest.raises(MissingDependency, match=r"pip install 'recsys-workbench\[ray\]'"):
        resolve_backend("ray", "ray://127.0.0.1:10001")


def test_a_bare_folder_named_like_the_package_is_not_the_package(monkeypatch):
    import importlib.machinery
    import importlib.util

    real = importlib.util.find_spec
    folder = importlib.machinery.ModuleSpec("ray", None, is_package=True)  # /tmp/ray, from /tmp
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: folder if name == "ray" else real(name, *a)
    )
    with pytest.raises(MissingDependency, match=r"pip install 'recsys-workbench\[ray\]'"):
        resolve_backend("ray")


def test_a_bad_or_unreachable_ray_address_is_a_one_line_error(monkeypatch):
    import importlib.machinery
    import importlib.util
    import socket

    from workbench.backends import _probe

    real = importlib.util.find_spec
    installed = importlib.machinery.ModuleSpec("ray", None, origin="site-packages/ray/__init__.py")
    monkeypatch.setattr(  # the address is checked whether or not ray is installed
        importlib.util, "find_spec", lambda name, *a: installed if name == "ray" else real(name, *a)
    )
    for address in ("nohost:xx", "ray://127.0.0.1", "10001"):
        with pytest.raises(ParamError, match="ray address must be 'auto', HOST:PORT or ray://"):
            resolve_backend("ray", address)
    assert resolve_backend("ray", "auto") == Backend("ray", "auto")
    assert resolve_backend("ray", "ray://127.0.0.1:10001").address == "ray://127.0.0.1:10001"
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ClusterError, match=f"cannot connect to ray at ray://127.0.0.1:{port}"):
        _probe(f"ray://127.0.0.1:{port}")
    _probe("auto")


def test_cli_refuses_a_scheduler_without_a_cluster_backend(capsys):
    from workbench.cli.app import main

    with pytest.raises(SystemExit) as info:
        main(["compare", "--model", "biases", "--scheduler", "tcp://127.0.0.1:1", "--quiet"])
    assert info.value.code != 0
    assert "--scheduler needs --backend dask or ray" in capsys.readouterr().err


distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install '.[dask]')"
)


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
    ) as local:
        yield local.scheduler_address


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


def test_dask_cluster_gives_the_serial_scores_and_progress(cluster, tmp_path):
    data = low_rank_ratings(n_users=50, n_items=40)
    serial = wb.compare(data, "kfold n_folds=3", MODELS, ["rmse"])
    progress = Recorder()
    remote = wb.compare(
        data,
        "kfold n_folds=3",
        MODELS,
        ["rmse"],
        backend="dask",
        scheduler=cluster,
        run_dir=tmp_path / "run",
        progress=progress,
    )
    assert _scores(remote).equals(_scores(serial))
    assert len(progress.finished) == 9 and len(set(progress.started)) == 9
    assert {(label, fold) for label, fold, _ in progress.epochs} >= {
        ("sgd", f) for f in range(3)
    }, "epoch events travel back from the dask workers"
    assert any(cluster in note for note in progress.notes)

    # resume on the cluster: drop four finished records, finish them there
    path = tmp_path / "run" / "results.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:5]) + "\n")
    resumed = wb.compare(
        data,
        "kfold n_folds=3",
        MODELS,
        ["rmse"],
        backend="dask",
        scheduler=cluster,
        run_dir=tmp_path / "run",
        resume=True,
    )
    assert _scores(resumed).equals(_scores(serial))
    assert len([json.loads(x) for x in path.read_text().splitlines()]) == 9


def test_dask_keeps_models_that_cannot_fork_in_the_main_process(cluster, tmp_path, monkeypatch):
    from test_contract_v2 import PIDS_FILE, MainOnly

    monkeypatch.setenv(PIDS_FILE, str(tmp_path / "pids"))
    progress = Recorder()
    results = wb.compare(
        low_rank_ratings(n_users=40, n_items=30),
        "kfold n_folds=2",
        ["biases", ("main-only", MainOnly())],
        ["rmse"],
        backend="dask",
        scheduler=cluster,
        progress=progress,
    )
    pids = {int(line) for line in (tmp_path / "pids").read_text().split()}
    assert pids == {os.getpid()}
    assert set(results.models) == {"biases", "main-only"}
    assert any("main-only: cannot run in a worker process" in n for n in progress.notes)


def test_tune_on_dask(cluster):
    data = low_rank_ratings(n_users=40, n_items=30)
    local = wb.tune(data, "kfold n_folds=2", "sgd n_epochs=3", ["n_factors=2,4"], "rmse")
    remote = wb.tune(
        data,
        "kfold n_folds=2",
        "sgd n_epochs=3",
        ["n_factors=2,4"],
        "rmse",
        backend="dask",
        scheduler=cluster,
    )
    assert remote.best_params == local.best_params
    assert remote.best_score == pytest.approx(local.best_score, abs=1e-12)


def test_cli_compare_on_dask(cluster, tmp_path, capsys):
    from workbench.cli.app import main

    args = ["compare", "--model", "biases", "--model", "popularity", "--split", "kfold n_folds=2"]
    args += ["--backend", "dask", "--scheduler", cluster, "--run-dir", str(tmp_path / "r")]
    with pytest.raises(SystemExit) as info:
        main([*args, "--json"])
    assert info.value.code in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert out
    assert len((tmp_path / "r" / "results.jsonl").read_text().splitlines()) == 4
