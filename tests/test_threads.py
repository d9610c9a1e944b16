"""The one thread setting (workbench/threads.py) governs torch too, in the main process and
inside a ``--jobs`` worker: no torch intra-op pool on top of the workers (issue 26)."""

from __future__ import annotations

import pytest

from workbench.errors import ParamError
from workbench.threads import ENV, available_cores, task_threads, thread_budget


def _counts() -> dict[str, int]:
    import numba
    import torch
    from workbench_torch.train import torch_threads

    with torch_threads(None):
        torch.ones(4) @ torch.ones(4)  # torch's parallel work starts here
        return {
            "torch": torch.get_num_threads(),
            "interop": torch.get_num_interop_threads(),
            "numba": numba.get_num_threads(),
        }


def _worker_probe(_: int) -> dict[str, int]:
    """What a pooled task sees: the runner wraps every pooled task in task_threads(1)."""
    with task_threads(1):
        return _counts()


def test_budget_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert thread_budget() == available_cores()
    monkeypatch.setenv(ENV, "1")
    assert thread_budget() == 1
    with task_threads(1):
        assert thread_budget() == 1
    monkeypatch.setenv(ENV, "lots")
    with pytest.raises(ParamError, match="WORKBENCH_THREADS='lots'"):
        thread_budget()


def test_torch_defaults_to_one_thread_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small-batch torch training on a busy machine: a second thread costs 10-100x."""
    monkeypatch.delenv(ENV, raising=False)
    counts = _counts()
    print("main process, WORKBENCH_THREADS unset:", counts)
    assert counts["torch"] == 1
    monkeypatch.setenv(ENV, "2")
    assert _counts()["torch"] == 2


def test_torch_follows_the_setting_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "1")
    counts = _counts()
    print("main process, WORKBENCH_THREADS=1:", counts)
    assert counts["torch"] == 1
    with task_threads(1):
        assert _counts()["torch"] == 1


def test_jobs_workers_run_torch_on_one_thread() -> None:
    """Two loky workers (the local backend of --jobs 2): one torch, inter-op and numba thread
    each, whatever the cores (the counts are printed: pytest -s shows them)."""
    from workbench_search.local import Local

    backend = Local()
    with backend.connect():
        counts = list(backend.map_unordered(_worker_probe, [(i,) for i in range(4)], 2))
    print("--jobs 2 workers:", counts)
    assert counts == [{"torch": 1, "interop": 1, "numba": 1}] * 4


def test_a_pooled_torch_fit_trains_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's pooled path (run_task(limit_threads=True)) trains torch on one thread, even
    where WORKBENCH_THREADS allows more; the serial path uses the setting."""
    import torch
    import workbench_torch.train as train

    import workbench as wb
    from workbench.experiments import runner

    seen: list[int] = []
    original = train.run_training

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(train, "run_training", spy)
    monkeypatch.setenv(ENV, "2")
    real_run_task = runner.run_task
    monkeypatch.setattr(
        runner, "run_task", lambda t, e=None, limit=False: real_run_task(t, e, True)
    )
    data = wb.load_dataset("synthetic n_users=60 n_items=40 n_interactions=800")
    wb.compare(data, models=["torch-mf n_epochs=1"], splitter="kfold n_folds=2", metrics=["rmse"])
    assert seen == [1, 1]
    monkeypatch.setattr(runner, "run_task", real_run_task)
    seen.clear()
    wb.compare(data, models=["torch-mf n_epochs=1"], splitter="kfold n_folds=2", metrics=["rmse"])
    assert seen == [2, 2]
