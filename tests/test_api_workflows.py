"""The workflows the CLI offers, as Python functions: describe a dataset, train with a
holdout, the models that fit a dataset, the default metrics."""

from __future__ import annotations

import numpy as np
import pytest

import workbench as wb
from workbench.errors import DataError
from workbench.plugins import set_loaded
from workbench.testing import low_rank_ratings

SMALL = {"n_users": 100, "n_items": 60, "n_interactions": 2000}


@pytest.fixture(autouse=True)
def default_plugins():
    set_loaded(None)
    yield
    set_loaded(None)


def test_describe_dataset_counts_against_numpy():
    data = low_rank_ratings(n_users=30, n_items=20)
    info = wb.describe_dataset(data)
    users = np.bincount(data.user, minlength=data.n_users)
    assert info["n_interactions"] == len(data)
    assert info["n_users"] == int((users > 0).sum()) and info["kind"] == "explicit"
    assert info["density"] == pytest.approx(len(data) / (info["n_users"] * info["n_items"]))
    assert info["user_activity"]["median"] == float(np.median(users[users > 0]))
    assert sum(info["values"]["histogram"].values()) == len(data)
    assert info["cold"]["users_with_1"] == int((users == 1).sum())
    assert "load_seconds" not in info
    loaded = wb.describe_dataset("synthetic", **SMALL)
    assert loaded["n_interactions"] <= SMALL["n_interactions"] and loaded["load_seconds"] >= 0


def test_describe_splits_reports_sizes_and_no_leaks():
    data = wb.load_dataset("synthetic", **SMALL)
    rows = wb.describe_splits(data, "kfold n_folds=4", seed=1)
    assert [r["fold"] for r in rows] == [0, 1, 2, 3]
    assert sum(r["n_test"] for r in rows) == len(data)
    assert all(r["leaked_pairs"] == 0 for r in rows)
    (holdout,) = wb.describe_splits(data)  # the default split: one holdout
    assert holdout["n_train"] + holdout["n_test"] == len(data)


def test_models_for_filters_by_feedback():
    explicit = wb.models_for("explicit")
    implicit = wb.models_for(wb.load_dataset("synthetic", kind="implicit", **SMALL))
    assert "sgd" in explicit.names and "sgd" not in explicit.skipped
    for choice in (explicit, implicit):
        for name in choice.names:
            assert choice.names and name not in choice.skipped
    assert sorted(implicit.names + implicit.skipped) == sorted(explicit.names + explicit.skipped)
    assert wb.default_metric("explicit") == "rmse" and wb.default_metric("implicit") == "ndcg@10"


def test_train_holdout_trains_on_the_first_split_and_scores_its_test_part():
    data = wb.load_dataset("synthetic", **SMALL)
    trained = wb.train_holdout(
        "sgd", data, "holdout ratio=0.25", metrics=["rmse"], seed=3, n_epochs=3
    )
    fold = wb.first_split(data, "holdout ratio=0.25", seed=3)
    assert len(trained.train) == len(fold.train) and len(trained.test) == len(fold.test)
    assert trained.model.get_params()["seed"] == 3 and trained.model.n_epochs == 3
    again = wb.train("sgd", fold.train, seed=3, n_epochs=3)
    expected = wb.evaluate_model(again, fold.test, ["rmse"])
    assert list(trained.scores["metric"]) == ["rmse"]
    assert trained.scores["value"].iloc[0] == pytest.approx(expected["value"].iloc[0], abs=1e-12)


def test_train_refuses_a_model_that_cannot_learn_the_feedback_before_training():
    implicit = wb.load_dataset("synthetic", kind="implicit", **SMALL)
    explicit_only = [
        n for n in wb.models_for("explicit").names if n in wb.models_for("implicit").skipped
    ]
    if not explicit_only:
        pytest.skip("every registered model learns from implicit feedback")
    with pytest.raises(DataError, match="needs explicit feedback"):
        wb.train(explicit_only[0], implicit)
    with pytest.raises(DataError, match="needs explicit feedback"):
        wb.train_holdout(explicit_only[0], implicit)


def test_models_needing_a_service_are_left_out_of_all_models(monkeypatch):
    from workbench.api import models_for
    from workbench.plugins import get_registry

    entry = get_registry().list("model")[0]
    monkeypatch.setattr(entry.obj, "service", "a test cluster")
    choice = models_for(entry.obj.feedback and sorted(entry.obj.feedback)[0])
    assert entry.name not in choice.names
    assert choice.services[entry.name] == "a test cluster"


def test_models_that_need_what_the_data_lacks_are_left_out_of_all_models():
    data = wb.load_dataset("synthetic", **SMALL)
    choice = wb.models_for(data)
    assert "svdpp-attr" in choice.unfit and "attributes" in choice.unfit["svdpp-attr"]
    assert "svdpp-attr" not in choice.names and "sgd" in choice.names
