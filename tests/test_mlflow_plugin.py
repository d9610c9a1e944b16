"""The MLflow plugin end to end: a real local MLflow store, read back with MLflow's client."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from test_cli_workflows import SMALL, cli

from workbench.plugins import PluginWarning, load_plugins, set_loaded

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """One local store for the module (creating its database takes a few seconds)."""
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture(autouse=True)
def fresh_plugins(monkeypatch):
    monkeypatch.delenv("WORKBENCH_MLFLOW", raising=False)
    monkeypatch.delenv("WORKBENCH_MLFLOW_EXPERIMENT", raising=False)
    set_loaded(None)
    yield
    set_loaded(None)


def client_for(folder: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{folder.resolve() / 'mlflow.db'}")


def runs_of(client: MlflowClient, experiment: str):
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment!r}"
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def records(run: Path) -> dict[tuple[str, int], dict]:
    lines = (run / "results.jsonl").read_text().splitlines()
    return {(r["model"], r["fold"]): r for r in map(json.loads, lines)}


def test_live_tracking_logs_each_task_and_the_comparison(store, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MLFLOW", str(store))
    monkeypatch.setenv("WORKBENCH_MLFLOW_EXPERIMENT", "live")
    run = tmp_path / "run"
    code, _, err = cli(capsys, "compare", "-d", SMALL, "-m", "biases", "-m", "sgd n_epochs=3",
                       "-s", "kfold n_folds=2", "--metric", "rmse", "--metric", "ndcg@5",
                       "--run-dir", run, "--quiet", "--export", "terminal")  # fmt: skip
    assert code == 0, err
    client = client_for(store)
    parents, children = runs_of(client, "live")
    assert len(parents) == 1 and len(children) == 4
    parent = parents[0]
    assert json.loads((run / "mlflow.json").read_text())["parent_run_id"] == parent.info.run_id
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    truth = records(run)
    for child in children:
        key = (child.data.tags["workbench.model"], int(child.data.tags["workbench.fold"]))
        rec = truth.pop(key)
        assert child.info.status == "FINISHED"
        assert child.data.metrics["rmse"] == pytest.approx(rec["scores"]["rmse"])
        assert child.data.metrics["ndcg_at_5"] == pytest.approx(rec["scores"]["ndcg@5"])
        assert child.data.metrics["fit_seconds"] == pytest.approx(rec["fit_seconds"])
        assert child.data.params["fold"] == str(key[1])
        if key[0] == "sgd":
            assert child.data.params["n_epochs"] == "3"
            history = client.get_metric_history(child.info.run_id, "loss")
            assert [m.step for m in history] == [1, 2, 3]
    assert truth == {}
    # the parent: the comparison's settings, the summary, the artifacts, finished
    assert parent.info.status == "FINISHED"
    assert parent.data.params["splitter"] == "kfold" and parent.data.params["n_folds"] == "2"
    sgd_rmse = [r["scores"]["rmse"] for k, r in records(run).items() if k[0] == "sgd"]
    assert parent.data.metrics["sgd/rmse_mean"] == pytest.approx(np.mean(sgd_rmse))
    names = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert names == {"results.json", "report.html"}
    local = client.download_artifacts(parent.info.run_id, "results.json", str(tmp_path))
    assert json.loads(Path(local).read_text())["export"]["format"] == "recsys-workbench-results"
    # exporting the same run folder again adds nothing twice
    code, _, err = cli(capsys, "report", run, "--export", f"mlflow uri={store} experiment=live")
    assert code == 0, err
    parents, children = runs_of(client, "live")
    assert len(parents) == 1 and len(children) == 4


def test_exporter_logs_a_finished_run_to_a_tracking_uri(store, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    args = ["-d", SMALL, "-m", "biases", "-s", "kfold n_folds=3", "--metric", "rmse"]
    code, _, err = cli(capsys, "compare", *args, "--run-dir", run, "--quiet", "-e", "terminal")
    assert code == 0, err
    assert not (run / "mlflow.json").exists()  # no live tracking without WORKBENCH_MLFLOW
    uri = f"sqlite:///{store.resolve() / 'mlflow.db'}"
    where = tmp_path / "where.json"
    spec = f"mlflow uri={uri} experiment=later path={where}"
    code, _, err = cli(capsys, "report", run, "--export", spec)
    assert code == 0, err
    parents, children = runs_of(client_for(store), "later")
    assert len(parents) == 1 and len(children) == 3
    assert not (tmp_path / "mlruns").exists()  # artifacts beside the database, not in the cwd
    assert (store / "artifacts").is_dir()
    assert json.loads(where.read_text()) == {
        "tracking_uri": uri,
        "experiment_id": parents[0].info.experiment_id,
        "parent_run_id": parents[0].info.run_id,
    }
    assert sorted(c.data.metrics["rmse"] for c in children) == pytest.approx(
        sorted(r["scores"]["rmse"] for r in records(run).values())
    )


def test_without_mlflow_the_plugin_is_unavailable_with_the_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    for name in [m for m in sys.modules if m.startswith("workbench_mlflow")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.warns(PluginWarning, match="unavailable"):
        loaded = load_plugins()
    status = {s.name: s for s in loaded.registry.statuses}["mlflow"]
    assert status.status == "unavailable"
    assert "pip install 'recsys-workbench[mlflow]'" in status.error


def test_switch_and_default_store(tmp_path, monkeypatch):
    from workbench_mlflow.live import configured_uri
    from workbench_mlflow.tracking import metric_key, resolve_uri

    monkeypatch.chdir(tmp_path)
    for off in ("", "0", "off"):
        monkeypatch.setenv("WORKBENCH_MLFLOW", off)
        assert configured_uri() == (False, None)
    monkeypatch.setenv("WORKBENCH_MLFLOW", "1")
    assert configured_uri() == (True, None)
    local = tmp_path.resolve() / "mlruns"
    assert resolve_uri(None) == (f"sqlite:///{local / 'mlflow.db'}", local / "artifacts")
    monkeypatch.setenv("WORKBENCH_MLFLOW", "http://127.0.0.1:5000")
    assert resolve_uri(configured_uri()[1]) == ("http://127.0.0.1:5000", None)
    assert metric_key("ndcg@10") == "ndcg_at_10" and metric_key("rmse") == "rmse"
