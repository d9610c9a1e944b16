"""Baselines: global mean, biases (ALS and SGD) and popularity: contract, known answers,
ALS against a direct regularised least-squares solve, SGD against a plain loop."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from sgd_realdata import cv_rmse, load_ml100k
from workbench_baselines.models import Biases, GlobalMean, Popularity

from workbench.errors import ParamError, TrainingDiverged
from workbench.model import EpochInfo
from workbench.testing import ModelContract, low_rank_ratings


class TestGlobalMeanContract(ModelContract):
    learns = False

    def make_model(self, **params: Any) -> GlobalMean:
        params.pop("seed", None)
        return GlobalMean(**params)


class TestBiasesALSContract(ModelContract):
    def make_model(self, **params: Any) -> Biases:
        return Biases(method="als", **params)


class TestBiasesSGDContract(ModelContract):
    def make_model(self, **params: Any) -> Biases:
        return Biases(method="sgd", n_epochs=40, lr=0.02, **params)


class TestPopularityContract(ModelContract):
    learns = False

    def make_model(self, **params: Any) -> Popularity:
        params.pop("seed", None)
        return Popularity(**params)


class TestPopularityImplicitContract(TestPopularityContract):
    def make_data(self):
        return low_rank_ratings(kind="implicit")


def test_global_mean_predicts_the_mean_everywhere() -> None:
    data = low_rank_ratings()
    model = GlobalMean().fit(data)
    assert model.predict([0, -1, 10**6], [3, 4, -1]) == pytest.approx([data.value.mean()] * 3)
    items, _ = model.recommend([0], k=3, exclude_seen=False)
    assert items.tolist() == [[0, 1, 2]]  # all tie: lowest item index first


def test_popularity_ranks_by_count_and_predicts_on_the_rating_scale() -> None:
    data = low_rank_ratings()
    model = Popularity().fit(data)
    counts = data.item_counts()
    items, scores = model.recommend([0], k=data.n_items, exclude_seen=False)
    assert np.all(np.diff(counts[items[0]]) <= 0), "ranking must follow the interaction count"
    expected = np.lexsort((np.arange(data.n_items), -counts))
    assert items[0].tolist() == expected.tolist()
    preds = model.predict(data.user, data.item)
    assert preds.min() >= 1 and preds.max() <= 5
    rmse = np.sqrt(np.mean((preds - data.value) ** 2))
    assert rmse < 1.5 * np.std(data.value)
    implicit = Popularity().fit(low_rank_ratings(kind="implicit"))
    np.testing.assert_array_equal(
        implicit.predict(np.zeros(5, int), np.arange(5)), implicit.item_counts_[:5]
    )


def regularised_least_squares(data, reg_user: float, reg_item: float):
    """Minimise sum (r - mu - b_u - b_i)^2 + reg_user |b_u|^2 + reg_item |b_i|^2 directly."""
    n, nu, ni = len(data), data.n_users, data.n_items
    rows = np.r_[np.arange(n), np.arange(n)]
    cols = np.r_[data.user, nu + data.item]
    x = sp.csr_matrix((np.ones(2 * n), (rows, cols)), shape=(n, nu + ni))
    target = data.value - data.value.mean()
    penalty = sp.diags(np.r_[np.full(nu, reg_user), np.full(ni, reg_item)])
    sol = sp.linalg.spsolve((x.T @ x + penalty).tocsc(), x.T @ target)
    return sol[:nu], sol[nu:]


def test_als_converges_to_the_regularised_least_squares_solution() -> None:
    data = low_rank_ratings(n_users=40, n_items=30, seed=2)
    model = Biases(method="als", reg_user=3.0, reg_item=2.0, n_epochs=300).fit(data)
    bu, bi = regularised_least_squares(data, 3.0, 2.0)
    np.testing.assert_allclose(model.user_bias_, bu, atol=1e-4)
    np.testing.assert_allclose(model.item_bias_, bi, atol=1e-4)


def test_sgd_epoch_matches_a_plain_loop() -> None:
    data = low_rank_ratings(n_users=20, n_items=15, seed=8)
    model = Biases(method="sgd", n_epochs=2, lr=0.05, reg_user=0.1, reg_item=0.2, seed=5)
    model.fit(data)
    rng = np.random.default_rng(5)
    mu = float(data.value.mean())
    bu, bi = np.zeros(data.n_users), np.zeros(data.n_items)
    for _ in range(2):
        for idx in rng.permutation(len(data)):
            u, i = data.user[idx], data.item[idx]
            err = data.value[idx] - mu - bu[u] - bi[i]
            bu[u] += 0.05 * (err - 0.1 * bu[u])
            bi[i] += 0.05 * (err - 0.2 * bi[i])
    np.testing.assert_allclose(model.user_bias_, bu, atol=1e-5)
    np.testing.assert_allclose(model.item_bias_, bi, atol=1e-5)


@pytest.mark.parametrize("method", ["als", "sgd"])
def test_fold_in_bias_is_the_closed_form_with_items_frozen(method: str) -> None:
    data = low_rank_ratings()
    model = Biases(method=method).fit(data.subset(data.user != 0))
    history = data.subset(data.user == 0)
    folded = model.fold_in(history)
    resid = history.value - model.global_mean_ - model.item_bias_[history.item]
    reg = model.setting("reg_user")
    n = len(history)
    expected = resid.sum() / (reg + n) if method == "als" else resid.sum() / (n * (1 + reg))
    assert folded.state["bias"][0] == pytest.approx(expected, rel=1e-5)


def test_biases_report_progress_and_validate_parameters() -> None:
    seen: list[EpochInfo] = []
    Biases(method="als", n_epochs=4).fit(low_rank_ratings(), callback=seen.append)
    assert [s.epoch for s in seen] == [1, 2, 3, 4] and seen[-1].loss <= seen[0].loss
    assert Biases().setting("n_epochs") == 15 and Biases(method="sgd").setting("reg_user") == 0.02
    for bad in ({"method": "newton"}, {"n_epochs": 0}, {"reg_user": -1.0}, {"lr": 0}):
        with pytest.raises(ParamError):
            Biases(**bad)
    diverging = Biases(method="sgd", lr=1e6, n_epochs=50)
    with pytest.raises(TrainingDiverged, match=r"epoch \d+.*lower learning rate"):
        diverging.fit(low_rank_ratings())
    assert not diverging.is_fitted


def test_registered_under_their_names(fresh_plugins: None) -> None:
    from workbench.plugins import get_registry

    registry = get_registry()
    expected = {
        "global-mean": GlobalMean,
        "mean": GlobalMean,
        "biases": Biases,
        "baseline": Biases,
        "baseline-only": Biases,
        "popularity": Popularity,
        "most-popular": Popularity,
    }
    for name, cls in expected.items():
        assert registry.get("model", name) is cls


@pytest.mark.realdata
def test_biases_reach_the_target_rmse_on_movielens(real_data_dir) -> None:
    data = load_ml100k(real_data_dir)
    for method in ("als", "sgd"):
        score = cv_rmse(lambda m=method: Biases(method=m), data, n_folds=5)
        assert score <= 0.945, f"biases ({method}): RMSE {score:.4f} on ML-100k 5-fold"
    mean = cv_rmse(GlobalMean, data, n_folds=5)
    assert 1.10 < mean < 1.15
