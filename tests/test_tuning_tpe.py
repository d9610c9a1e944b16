"""The ``tpe`` search strategy (Optuna): ranking, pruning, resume, a missing dependency."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from test_experiment import Toy, _Plugin

from workbench.errors import MissingDependency
from workbench.experiments.compare import compare
from workbench.plugins import load_plugins, set_loaded
from workbench.search.tuning import load_tune, resume_tune, tune
from workbench.testing import low_rank_ratings

optuna = pytest.importorskip("optuna")

SPACE = {"shrink": "0.01:1e6:log", "n_factors": "1:3"}


@pytest.fixture(autouse=True)
def plugins():
    set_loaded(load_plugins(extra=[("toy", _Plugin)]))
    Toy.fits.clear()
    Toy.armed = True
    yield
    set_loaded(None)


@pytest.fixture(scope="module")
def data():
    return low_rank_ratings(n_users=60, n_items=40, density=0.3, seed=1)


def study_of(run):
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    storage = JournalStorage(JournalFileBackend(str(run / "optuna.journal")))
    return optuna.load_study(study_name="tune", storage=storage)


def test_tpe_ranks_prunes_and_saves_best(data, tmp_path):
    run = tmp_path / "tpe"
    out = tune(data, "kfold n_folds=3", "toy-test n_epochs=1", SPACE, "rmse",
               search="tpe", n_iter=10, seed=0, run_dir=run)  # fmt: skip
    study = study_of(run)
    states = [t.state for t in study.trials]
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert len(states) == 10 and optuna.trial.TrialState.FAIL not in states
    assert pruned, "the huge-shrinkage candidates should be pruned after a fold"
    ranking = out.ranking
    assert len(ranking) == 10 and list(ranking["rank"]) == list(range(1, 11))
    complete = ranking[ranking["complete"]]
    assert len(complete) == 10 - len(pruned)
    assert np.all(np.diff(complete["mean"].to_numpy()) >= 0)  # rmse: lower first
    assert not ranking["complete"].iloc[: len(complete)].eq(False).any()
    for trial in pruned:  # a pruned candidate stopped before the last fold
        row = ranking[ranking["label"] == f"toy-test#{trial.number + 1:02d}"].iloc[0]
        assert row["folds"] < 3
    # the search space is respected (log range, integer range)
    assert ranking["shrink"].between(0.01, 1e6).all()
    assert set(ranking["n_factors"]) <= {1, 2, 3}
    # the study's best value is the ranking's best, and an independent compare agrees
    assert study.best_value == pytest.approx(out.best_score)
    assert out.best_params["n_epochs"] == 1
    check = compare(data, "kfold n_folds=3", [{"name": "toy-test", **out.best_params}], ["rmse"])
    assert check.summary().loc["toy-test", ("rmse", "mean")] == pytest.approx(out.best_score)
    saved = json.loads((run / "best.json").read_text())
    assert saved["params"] == out.best_params and saved["label"] == out.best_label
    again = load_tune(run)
    assert list(again.ranking["label"]) == list(ranking["label"])


def test_tpe_is_reproducible_from_the_seed(data):
    a = tune(data, "holdout", "toy-test n_epochs=1", SPACE, "rmse", search="tpe", n_iter=5, seed=4)
    b = tune(data, "holdout", "toy-test n_epochs=1", SPACE, "rmse", search="tpe", n_iter=5, seed=4)
    cols = ["label", "shrink", "n_factors", "mean"]
    assert a.ranking[cols].equals(b.ranking[cols])


def test_tpe_resumes_the_study_from_the_run_folder(tmp_path):
    data = "synthetic n_users=80 n_items=50 n_interactions=1500"
    run = tmp_path / "tpe"
    with pytest.raises(KeyboardInterrupt):
        tune(data, "kfold n_folds=2", "toy-test n_epochs=1 interrupt_at=7", SPACE, "rmse",
             search="tpe", n_iter=6, seed=0, run_dir=run)  # fmt: skip
    before = study_of(run).trials
    finished = {t.number: t.value for t in before if t.state.is_finished()}
    assert finished and len(finished) < 6
    lines_before = (run / "results.jsonl").read_text().splitlines()
    Toy.fits.clear()
    out = resume_tune(run)
    after = study_of(run).trials
    counted = [t for t in after if t.state in (optuna.trial.TrialState.COMPLETE,
                                               optuna.trial.TrialState.PRUNED)]  # fmt: skip
    assert len(counted) == 6
    # the finished trials kept their values; the interrupted one was closed as failed
    assert {t.number: t.value for t in after if t.number in finished} == finished
    assert any(t.state == optuna.trial.TrialState.FAIL for t in after)
    lines = (run / "results.jsonl").read_text().splitlines()
    assert lines[: len(lines_before)] == lines_before  # nothing finished was run again
    keys = [(json.loads(x)["model"], json.loads(x)["fold"]) for x in lines]
    assert len(keys) == len(set(keys))
    assert len(Toy.fits) == len(lines) - len(lines_before)
    assert out.best_label in {f"toy-test#{t.number + 1}" for t in after}


def test_jobs_run_candidates_side_by_side_with_the_same_scores(data):
    # the first candidates come from the seeded start-up sampling, in any batch size
    kw = {"search": "tpe", "n_iter": 2, "seed": 2}
    one = tune(data, "holdout", "toy-test n_epochs=1", SPACE, "rmse", jobs=1, **kw)
    two = tune(data, "holdout", "toy-test n_epochs=1", SPACE, "rmse", jobs=2, **kw)
    cols = ["label", "shrink", "n_factors", "mean"]
    assert one.ranking[cols].equals(two.ranking[cols])


def test_cli_tpe_strategy_and_strategies_list(capsys, tmp_path):
    from test_cli_workflows import SMALL, cli

    run = tmp_path / "run"
    args = ["sgd n_epochs=2", "-p", "lr=0.002:0.05:log", "-p", "n_factors=2,4"]
    args += ["--strategy", "tpe", "--n-iter", "3", "-d", SMALL, "-s", "kfold n_folds=2"]
    code, out, err = cli(capsys, "tune", *args, "--run-dir", run, "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert len(payload["ranking"]) == 3
    assert json.loads((run / "best.json").read_text())["params"] == payload["best"]["params"]
    assert (run / "optuna.journal").is_file()
    code, out, err = cli(capsys, "tune", "--resume", "--run-dir", run, "--quiet")
    assert code == 0 and "best params:" in out, err
    code, out, _ = cli(capsys, "tune", "--strategies", "--json")
    assert code == 0 and [r["name"] for r in json.loads(out)] == ["grid", "random", "tpe"]


def test_without_optuna_tpe_is_unavailable_with_the_hint(data, monkeypatch):
    from workbench.search.tuning import strategies

    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    with pytest.raises(MissingDependency, match=r"recsys-workbench\[optuna\]"):
        tune(data, "holdout", "toy-test", SPACE, "rmse", search="tpe", n_iter=2)
    rows = {r["name"]: r for r in strategies()}
    assert rows["grid"]["available"] and rows["random"]["available"]
    assert not rows["tpe"]["available"]
    assert rows["tpe"]["hint"] == "pip install 'recsys-workbench[optuna]'"


def test_cli_without_optuna_is_one_line(capsys, monkeypatch):
    from test_cli_workflows import SMALL, cli, error_line

    monkeypatch.setitem(sys.modules, "optuna", None)
    code, _, err = cli(capsys, "tune", "sgd", "-p", "n_factors=2,4", "--search", "tpe", "-d", SMALL)
    assert code == 1
    assert "pip install 'recsys-workbench[optuna]'" in error_line(err)
    code, out, _ = cli(capsys, "tune", "--strategies")
    assert code == 0 and "unavailable" in out and "recsys-workbench[optuna]" in out


# -- nested cross-validation --------------------------------------------------------------------
def test_nested_cv_scores_each_winner_on_an_unseen_outer_fold(data, tmp_path):
    from workbench.experiments.loading import make_splitter
    from workbench.experiments.resolve import derive_seed
    from workbench.search.nested import nested_tune

    space = {"shrink": [1, 5, 500], "n_factors": [1, 2]}
    run = tmp_path / "nested"
    out = nested_tune(data, "kfold n_folds=2", "toy-test n_epochs=1", space, "rmse",
                      outer="kfold n_folds=3", seed=5, run_dir=run)  # fmt: skip
    assert list(out.folds["outer_fold"]) == [1, 2, 3] and (out.folds["candidates"] == 6).all()
    outer = list(make_splitter("kfold n_folds=3 seed=5").split(data))
    for k, split in enumerate(outer, start=1):
        row = out.folds.iloc[k - 1]
        # the inner search saw only the outer training set
        inner = load_tune(run / f"inner-{k}")
        assert inner.results.metadata["dataset"]["n_interactions"] == len(split.train)
        assert row["inner_best"] == pytest.approx(inner.best_score)
        assert {"shrink": row["shrink"], "n_factors": row["n_factors"]} == {
            "shrink": inner.best_params["shrink"], "n_factors": inner.best_params["n_factors"]
        }  # fmt: skip
        # independent reference: refit the winner by hand, RMSE of clipped predictions
        model = Toy(**inner.best_params, seed=derive_seed(5, 0)).fit(split.train)
        pred = np.clip(model.predict(split.test.user, split.test.item), 1, 5)
        rmse = float(np.sqrt(np.mean((pred - split.test.value) ** 2)))
        assert row["outer"] == pytest.approx(rmse, rel=1e-6)
    saved = json.loads((run / "nested.json").read_text())
    assert saved["outer_mean"] == pytest.approx(out.outer_score)
    assert saved["inner_best_mean"] == pytest.approx(out.inner_score)
    # resuming trains nothing again for the searches
    Toy.fits.clear()
    again = nested_tune(data, "kfold n_folds=2", "toy-test n_epochs=1", space, "rmse",
                        outer="kfold n_folds=3", seed=5, run_dir=run, resume=True)  # fmt: skip
    assert len(Toy.fits) == 3  # only the three outer refits
    pd.testing.assert_frame_equal(again.folds, out.folds)


def test_cli_outer_prints_both_numbers(capsys, tmp_path):
    from test_cli_workflows import SMALL, cli

    args = ["sgd n_epochs=2", "-p", "n_factors=2,4", "-d", SMALL, "-s", "kfold n_folds=2"]
    code, out, err = cli(capsys, "tune", *args, "--outer", "kfold n_folds=2", "--json",
                         "--run-dir", tmp_path / "n")  # fmt: skip
    assert code == 0, err
    payload = json.loads(out)
    assert len(payload["folds"]) == 2 and payload["metric"] == "rmse"
    assert {"outer_mean", "inner_best_mean"} <= set(payload)
    code, out, err = cli(capsys, "tune", *args, "--outer", "kfold n_folds=2", "--quiet",
                         "--run-dir", tmp_path / "n", "--resume")  # fmt: skip
    assert code == 0, err
    assert "nested CV" in out and "honest score" in out
