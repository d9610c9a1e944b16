"""The Python API (`workbench.api`, re-exported as ``workbench.*``)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.data import Interactions
from workbench.errors import DataError, ParamError, UnknownNameError
from workbench.plugins import set_loaded
from workbench.testing import low_rank_ratings

SMALL = {"n_users": 120, "n_items": 80, "n_interactions": 2400}


@pytest.fixture(autouse=True)
def default_plugins():
    set_loaded(None)
    yield
    set_loaded(None)


@pytest.fixture(scope="module")
def titled() -> Interactions:
    """Low-rank ratings with item titles."""
    data = low_rank_ratings(n_users=60, n_items=40, density=0.35)
    meta = pd.DataFrame(
        {"title": [f"Film {i}" for i in data.items.ids]}, index=pd.Index(data.items.ids)
    )
    return Interactions.from_pandas(
        data.to_pandas(), value="value", rating_scale=(1, 5), item_metadata=meta, name="titled"
    )


def test_import_is_light_and_exports_the_api():
    code = (
        "import sys, workbench; assert 'workbench.api.workflows' not in sys.modules; "
        "assert callable(workbench.compare) and 'workbench.api.workflows' in sys.modules; "
        "assert 'recommend' in dir(workbench)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(AttributeError):
        wb.no_such_function  # noqa: B018


def test_load_split_make_train():
    data = wb.load_dataset("synthetic", **SMALL)
    assert len(data) == 2400 and data.name == "synthetic"
    same = wb.load_dataset("synthetic n_users=120 n_items=80", n_interactions=2400)
    assert same.fingerprint() == data.fingerprint()
    folds = wb.split(data, "kfold", n_folds=3, seed=1)
    assert len(folds) == 3 and sum(len(f.test) for f in folds) == len(data)
    assert [len(f.test) for f in wb.split(data, "kfold n_folds=3", seed=1)] == [
        len(f.test) for f in folds
    ]
    model = wb.make_model("sgd", n_factors=4, n_epochs=2)
    assert model.n_factors == 4 and not model.is_fitted
    fitted = wb.train("sgd n_epochs=2", folds[0].train, n_factors=3)
    assert fitted.is_fitted and fitted.n_factors == 3
    with pytest.raises(UnknownNameError, match="did you mean 'sgd'"):
        wb.make_model("sgdd")
    with pytest.raises(ParamError):
        wb.make_model("sgd", n_factor=3)


def test_compare_returns_results(tmp_path):
    data = wb.load_dataset("synthetic", **SMALL)
    res = wb.compare(
        data,
        "kfold n_folds=2",
        ["biases", "sgd n_epochs=3 n_factors=4"],
        ["rmse", "ndcg@10"],
        seed=1,
    )
    wide = res.to_pandas()
    assert list(wide.columns[:4]) == ["model", "fold", "rmse", "ndcg@10"]
    assert res.summary().shape[0] == 2
    path = res.export("csv", path=tmp_path / "r.csv")
    assert path is not None and "biases" in path.read_text()


def test_recommend_known_users_with_titles(titled):
    model = wb.train("biases", titled)
    users = list(titled.users.ids[:2])
    recs = wb.recommend(model, users, k=4)
    assert list(recs.columns) == ["user", "rank", "item", "score", "title"]
    assert len(recs) == 8 and list(recs["rank"][:4]) == [1, 2, 3, 4]
    assert all(t == f"Film {i}" for i, t in zip(recs["item"], recs["title"], strict=True))
    seen = set(titled.items.id_of(titled.csr()[0].indices))
    assert not set(recs[recs["user"] == users[0]]["item"]) & seen
    assert recs.groupby("user")["score"].apply(lambda s: s.is_monotonic_decreasing).all()
    with pytest.raises(DataError, match="recommend_new_users"):
        wb.recommend(model, ["nobody"])


def test_titles_survive_the_model_file(titled, tmp_path):
    model = wb.train("biases", titled)
    path = model.save(tmp_path / "m.npz")
    loaded = wb.load_model(path)
    a = wb.recommend(model, [titled.users.ids[3]], k=5)
    b = wb.recommend(path, [titled.users.ids[3]], k=5)
    pd.testing.assert_frame_equal(a, b)
    assert b["title"].str.startswith("Film").all()
    np.testing.assert_array_equal(loaded.item_titles_, model.item_titles_)


def test_recommend_new_users_folds_in_without_retraining(titled):
    rows = titled.user < 50
    model = wb.train("sgd n_epochs=10 n_factors=4", titled.subset(rows))
    before = model.user_factors_.copy()
    history = titled.subset(~rows).to_pandas().rename(columns={"value": "rating"})
    recs = wb.recommend_new_users(model, history, k=3)
    assert set(recs["user"]) == set(titled.users.ids[50:]) & set(history["user"])
    np.testing.assert_array_equal(model.user_factors_, before)
    for user, group in recs.groupby("user"):
        rated = set(history[history["user"] == user]["item"])
        assert not set(group["item"]) & rated
    assert recs["title"].str.startswith("Film").all()


def test_similar_items_and_evaluate_model(titled):
    folds = wb.split(titled, "holdout", ratio=0.25, seed=3)
    model = wb.train("sgd n_epochs=10 n_factors=4", folds[0].train)
    sims = wb.similar_items(model, [titled.items.ids[0]], k=3)
    assert list(sims.columns) == ["item", "rank", "similar", "similarity", "title"]
    assert titled.items.ids[0] not in set(sims["similar"])
    scores = wb.evaluate_model(model, folds[0].test, ["rmse", "ndcg@5"])
    assert list(scores["metric"]) == ["rmse", "ndcg@5"]
    with pytest.raises(DataError, match="were in the model's training data"):
        wb.evaluate_model(model, folds[0].train, ["rmse"])


def test_evaluate_model_matches_compare_on_the_same_split(titled):
    folds = wb.split(titled, "holdout", ratio=0.25, seed=3)
    res = wb.compare(titled, folds, ["biases"], ["rmse", "ndcg@5", "recall@5"])
    model = wb.train("biases", folds[0].train)
    scores = wb.evaluate_model(model, folds[0].test, ["rmse", "ndcg@5", "recall@5"])
    mine = dict(zip(scores["metric"], scores["value"], strict=True))
    theirs = res.scores.set_index("metric")["value"].to_dict()
    assert mine == pytest.approx(theirs)


def test_activity_from_results_and_run_folder(tmp_path):
    res = wb.compare(
        wb.load_dataset("synthetic", **SMALL),
        "holdout",
        ["biases"],
        ["rmse", "ndcg@10"],
        per_user=True,
        run_dir=tmp_path / "run",
    )
    table = wb.activity(res)
    assert {"bucket", "users", "rmse", "ndcg@10"} <= set(table.columns)
    custom = wb.activity(tmp_path / "run", bins=[0, 10, 40])
    assert set(custom["bucket"]) <= {"0-9", "10-39", "40+"} and len(custom)
    with pytest.raises(DataError, match="per_user=True"):
        data = wb.load_dataset("synthetic", **SMALL)
        wb.activity(wb.compare(data, "holdout", ["biases"], per_user=False))


def test_package_exposes_exactly_the_api_functions():
    import workbench
    from workbench import api

    assert set(api.__all__) == workbench._API
    for name in workbench._API:
        assert callable(getattr(workbench, name)) and getattr(workbench, name) is getattr(api, name)
