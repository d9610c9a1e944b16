"""The runner's parallel backends: local processes (default) and a `dask.distributed` cluster
(Ray: tests/test_backends_ray.py).

A LocalCluster (2 worker processes, 127.0.0.1 only) is started by the module fixture; the same
comparison gives the same scores there as in the main process, run folders resume on either,
progress events arrive, and models that cannot fork stay in the main process.
"""

from __future__ import annotations

import json

import pytest
from backend_helpers import (
    check_main_only_models_stay_home,
    check_scores_progress_and_resume,
    check_tune,
)
from workbench_cluster.backends import _probe

from workbench.backend import resolve_backend
from workbench.errors import ClusterError, MissingDependency, ParamError, UnknownNameError


def test_resolve_backend():
    assert type(resolve_backend()).__name__ == "Local"
    assert type(resolve_backend("loky")).__name__ == "Local"  # the old name, an alias
    with pytest.raises(UnknownNameError, match="unknown backend 'spark'.*available: dask"):
        resolve_backend("spark")
    with pytest.raises(UnknownNameError, match="did you mean 'dask'"):
        resolve_backend("dusk")
    with pytest.raises(ParamError, match="needs the scheduler address"):
        resolve_backend("dask")
    with pytest.raises(ParamError, match="needs --backend dask or ray"):
        resolve_backend("local", "tcp://127.0.0.1:1")
    dask = resolve_backend("dask", "tcp://x:1")
    assert dask.n_jobs(1) == -1 and dask.describe() == "dask at tcp://x:1"
    assert resolve_backend("dask address=tcp://x:1").params.address == "tcp://x:1"
    assert resolve_backend().n_jobs(1) == 1


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


    real = importlib.util.find_spec
    installed = importlib.machinery.ModuleSpec("ray", None, origin="site-packages/ray/__init__.py")
    monkeypatch.setattr(  # the address is checked whether or not ray is installed
        importlib.util, "find_spec", lambda name, *a: installed if name == "ray" else real(name, *a)
    )
    for address in ("nohost:xx", "ray://127.0.0.1", "10001"):
        with pytest.raises(ParamError, match="ray address must be 'auto', HOST:PORT or ray://"):
            resolve_backend("ray", address)
    assert resolve_backend("ray", "auto").params.address == "auto"
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


def test_dask_cluster_gives_the_serial_scores_and_progress(cluster, tmp_path):
    notes = check_scores_progress_and_resume(tmp_path, backend="dask", scheduler=cluster)
    assert any(cluster in note for note in notes)


def test_dask_keeps_models_that_cannot_fork_in_the_main_process(cluster, tmp_path, monkeypatch):
    check_main_only_models_stay_home(tmp_path, monkeypatch, backend="dask", scheduler=cluster)


def test_tune_on_dask(cluster):
    check_tune(backend="dask", scheduler=cluster)


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


def test_experiment_file_runs_on_its_backend_and_the_cli_overrides_it(cluster, tmp_path, capsys):
    from workbench.cli.app import main

    toml = tmp_path / "exp.toml"
    toml.write_text(
        'data = "synthetic n_users=60 n_items=40 n_interactions=1000"\n'
        'split = "kfold n_folds=2"\nmetrics = ["rmse"]\n'
        f'backend = "dask"\nscheduler = "{cluster}"\n\n[[models]]\nname = "biases"\n'
    )
    for extra, where in (([], cluster), (["--backend", "local"], None)):
        with pytest.raises(SystemExit) as info:
            main(["compare", "--config", str(toml), "--run-dir", str(tmp_path / str(where)),
                  *extra])  # fmt: skip
        assert info.value.code in (0, None)
        out = capsys.readouterr()
        if where is None:
            assert cluster not in out.out + out.err
        else:
            assert f"on dask at {cluster}" in out.out + out.err
