"""The `sgd` model (biased MF by SGD): contract, an independent reference epoch, divergence,
parameter validation, progress callback, early stopping, fold-in and accuracy on ML-100k."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sgd_realdata import cv_rmse, load_ml100k
from workbench_sgd.base import Ratings
from workbench_sgd.biased import BiasedMF

from workbench.errors import DataError, NotFittedError, ParamError, TrainingDiverged
from workbench.model import DivergenceGuard, EpochInfo
from workbench.testing import ModelContract, holdout, low_rank_ratings


class TestBiasedMFContract(ModelContract):
    def make_model(self, **params: Any) -> BiasedMF:
        return BiasedMF(n_factors=8, n_epochs=30, **params)


class TestUnbiasedMFContract(ModelContract):
    def make_model(self, **params: Any) -> BiasedMF:
        return BiasedMF(n_factors=8, n_epochs=30, biased=False, **params)


def reference_epoch(
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    order: np.ndarray,
    mu: float,
    state: dict[str, np.ndarray],
    lr: float,
    reg: float,
    reg_bias: float,
    *,
    biased: bool = True,
    update_items: bool = True,
) -> None:
    """Plain numpy (float64) SGD epoch of biased MF, updating ``state`` in place."""
    users, items, values = data
    bu, bi, p, q = state["bu"], state["bi"], state["p"], state["q"]
    for idx in order:
        u, i = users[idx], items[idx]
        err = values[idx] - (mu + bu[u] + bi[i] + p[u] @ q[i])
        if biased:
            bu[u] += lr * (err - reg_bias * bu[u])
            if update_items:
                bi[i] += lr * (err - reg_bias * bi[i])
        old_p = p[u].copy()
        p[u] += lr * (err * q[i] - reg * p[u])
        if update_items:
            q[i] += lr * (err * old_p - reg * q[i])


@pytest.mark.parametrize("biased", [True, False])
def test_two_epochs_match_an_independent_numpy_reference(biased: bool) -> None:
    data = low_rank_ratings(n_users=30, n_items=20, density=0.4, seed=3)
    params = dict(n_factors=19, lr=0.02, lr_decay=0.5, reg=0.03, reg_bias=0.01, init_std=0.2)
    model = BiasedMF(n_epochs=2, seed=11, biased=biased, **params).fit(data)

    rng = np.random.default_rng(11)
    state = {
        "p": rng.normal(0, 0.2, (data.n_users, 19)).astype(np.float32).astype(np.float64),
        "q": rng.normal(0, 0.2, (data.n_items, 19)).astype(np.float32).astype(np.float64),
        "bu": np.zeros(data.n_users),
        "bi": np.zeros(data.n_items),
    }
    mu = float(np.mean(data.value, dtype=np.float64))
    arrays = (data.user, data.item, data.value.astype(np.float64))
    for epoch in range(2):
        order = rng.permutation(len(data))
        lr = 0.02 * 0.5**epoch
        reference_epoch(arrays, order, mu, state, lr, 0.03, 0.01, biased=biased)
    np.testing.assert_allclose(model.user_factors_, state["p"], atol=1e-5)
    np.testing.assert_allclose(model.item_factors_, state["q"], atol=1e-5)
    np.testing.assert_allclose(model.user_bias_, state["bu"], atol=1e-5)
    np.testing.assert_allclose(model.item_bias_, state["bi"], atol=1e-5)
    assert biased or not model.user_bias_.any()


def test_fold_in_matches_the_reference_with_items_frozen() -> None:
    data = low_rank_ratings(n_users=40, n_items=25, density=0.5, seed=4)
    target = 5
    model = BiasedMF(n_factors=6, n_epochs=10, fold_in_epochs=4, seed=2)
    model.fit(data.subset(data.user != target))
    q_before = model.item_factors_.copy()
    history = data.subset(data.user == target)
    folded = model.fold_in(history)
    np.testing.assert_array_equal(model.item_factors_, q_before)

    by_item = np.argsort(history.item)  # fold-in sees the history sorted by item index
    arrays = (np.zeros(len(history), np.int64), history.item[by_item], history.value[by_item])
    state = {
        "p": np.zeros((1, 6)),
        "q": model.item_factors_.astype(np.float64),
        "bu": np.zeros(1),
        "bi": model.item_bias_.astype(np.float64),
    }
    rng = np.random.default_rng([2, 1])
    for _ in range(4):
        order = rng.permutation(len(history))
        reference_epoch(
            arrays, order, model.global_mean_, state, model.lr, model.reg, model.reg_bias,
            update_items=False,
        )  # fmt: skip
    np.testing.assert_allclose(folded.state["factors"], state["p"], atol=1e-5)
    np.testing.assert_allclose(folded.state["bias"], state["bu"], atol=1e-5)


def test_huge_learning_rate_stops_with_an_error_naming_the_epoch() -> None:
    model = BiasedMF(lr=1e4, n_epochs=5)
    with pytest.raises(TrainingDiverged, match=r"epoch 1\b.*lower learning rate than lr=10000"):
        model.fit(low_rank_ratings())
    assert not model.is_fitted, "a diverged model must not look fitted"
    with pytest.raises(NotFittedError):
        model.predict([0], [0])


def test_exploding_but_finite_loss_is_divergence_too() -> None:
    guard = DivergenceGuard("try a lower learning rate than lr=0.01")
    guard.check(1.0, 1)
    guard.check(5.0, 3)  # growth within bounds: fine
    with pytest.raises(TrainingDiverged, match=r"epoch 3 .*lower learning rate than lr=0.01"):
        guard.check(2e6, 3)


@pytest.mark.parametrize(
    "bad",
    [
        {"n_epochs": 0},
        {"n_epochs": -3},
        {"n_factors": 0},
        {"n_factors": -1},
        {"lr": 0},
        {"reg": -0.1},
        {"lr_decay": 1.5},
        {"fold_in_epochs": 0},
        {"early_stopping_rounds": 0},
        {"validation_fraction": 1.0},
    ],
)
def test_bad_parameters_are_rejected(bad: dict[str, Any]) -> None:
    name = next(iter(bad))
    with pytest.raises(ParamError, match=name):
        BiasedMF(**bad)


def test_callback_reports_every_epoch_with_loss_and_validation() -> None:
    train, test = holdout(low_rank_ratings())
    seen: list[EpochInfo] = []
    BiasedMF(n_factors=4, n_epochs=6).fit(train, callback=seen.append, validation=test)
    assert [s.epoch for s in seen] == list(range(1, 7))
    assert all(s.n_epochs == 6 and s.seconds >= 0 for s in seen)
    losses = [s.loss for s in seen]
    assert losses[-1] < losses[0]
    assert all(set(s.validation) == {"rmse"} and np.isfinite(s.validation["rmse"]) for s in seen)


def test_early_stopping_keeps_the_best_epoch() -> None:
    train, test = holdout(low_rank_ratings(density=0.2), seed=1)
    seen: list[EpochInfo] = []
    model = BiasedMF(n_factors=30, n_epochs=200, lr=0.05, reg=0.0, early_stopping_rounds=3)
    model.fit(train, callback=seen.append, validation=test)
    assert model.n_epochs_ < 200, "a model without regularisation should start to overfit"
    curve = [s.validation["rmse"] for s in seen]
    assert model.n_epochs_ == len(curve) == model.best_epoch_ + 3
    assert model._rmse(None, Ratings.of(test)) == pytest.approx(min(curve), abs=1e-6)


def test_early_stopping_needs_validation_data() -> None:
    with pytest.raises(ParamError, match="early_stopping_rounds"):
        BiasedMF(early_stopping_rounds=2).fit(low_rank_ratings())
    model = BiasedMF(n_epochs=50, early_stopping_rounds=2, validation_fraction=0.2)
    model.fit(low_rank_ratings())
    assert 1 <= model.best_epoch_ <= model.n_epochs_ <= 50


def test_validation_in_another_id_space_is_aligned() -> None:
    data = low_rank_ratings()
    train, test = holdout(data)
    df = test.to_pandas()
    from workbench.data import Interactions

    other = Interactions.from_pandas(df.iloc[::-1], value="value", rating_scale=(1, 5))
    a, b = [], []
    BiasedMF(n_epochs=3).fit(train, callback=a.append, validation=test)
    BiasedMF(n_epochs=3).fit(train, callback=b.append, validation=other)
    assert [x.validation["rmse"] for x in a] == pytest.approx([x.validation["rmse"] for x in b])
    with pytest.raises(DataError, match="validation set is empty"):
        BiasedMF(n_epochs=1).fit(train, validation=test.subset(np.zeros(len(test), bool)))


def test_different_seeds_differ_and_training_is_deterministic() -> None:
    data = low_rank_ratings()
    a = BiasedMF(n_epochs=5, seed=1).fit(data).user_factors_
    b = BiasedMF(n_epochs=5, seed=2).fit(data).user_factors_
    c = BiasedMF(n_epochs=5, seed=1).fit(data).user_factors_
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, c)


def test_update_users_adds_and_refreshes_users() -> None:
    data = low_rank_ratings()
    newcomer = data.subset(data.user == 3)
    model = BiasedMF(n_factors=4, n_epochs=20).fit(data.subset(data.user != 3))
    folded = model.fold_in(newcomer)
    n_before = model.n_users_
    model.update_users(newcomer)
    assert model.n_users_ == n_before  # user 3 was in the id space already (cold): refreshed
    row = model.users_.index_of(folded.ids)[0]
    np.testing.assert_allclose(model.user_factors_[row], folded.state["factors"][0])
    assert set(model.seen_[row].indices) == set(newcomer.item)


def test_registered_under_its_names(fresh_plugins: None) -> None:
    from workbench.plugins import get_registry

    registry = get_registry()
    for name in ("sgd", "funk-svd", "biased-mf"):
        assert registry.get("model", name) is BiasedMF


@pytest.mark.realdata
def test_defaults_reach_the_target_rmse_on_movielens(real_data_dir) -> None:
    data = load_ml100k(real_data_dir)
    score = cv_rmse(BiasedMF, data, n_folds=2)
    assert score <= 0.915, f"sgd defaults: RMSE {score:.4f} on 2 folds of ML-100k"
