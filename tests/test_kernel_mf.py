"""kernel-mf: contract for every kernel, an independent reference epoch per kernel,
update_users, cold start, divergence, parameters and accuracy on ML-100k."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sgd_realdata import cv_rmse, kfold, load_ml100k, rmse
from workbench_sgd.kernel_mf import KernelMF

from workbench.data import Interactions
from workbench.errors import DataError, ParamError, TrainingDiverged
from workbench.testing import ModelContract, low_rank_ratings


class TestLinearContract(ModelContract):
    def make_model(self, **params: Any) -> KernelMF:
        return KernelMF(kernel="linear", n_factors=8, n_epochs=30, **params)


class TestSigmoidContract(ModelContract):
    def make_model(self, **params: Any) -> KernelMF:
        return KernelMF(kernel="sigmoid", n_factors=8, n_epochs=30, **params)


class TestRbfContract(ModelContract):
    def make_model(self, **params: Any) -> KernelMF:
        return KernelMF(kernel="rbf", n_factors=8, n_epochs=30, **params)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


def reference_kernel_epoch(
    kernel: str,
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    order: np.ndarray,
    c: float,
    lo: float,
    span: float,
    gamma: float,
    s: dict[str, np.ndarray],
    lr: float,
    reg: float,
    reg_bias: float,
) -> float:
    """Plain numpy (float64) SGD epoch of kernel MF, in place; returns the sum of errors."""
    users, items, values = data
    bu, bi, p, q = s["bu"], s["bi"], s["p"], s["q"]
    total = 0.0
    for idx in order:
        u, i = users[idx], items[idx]
        pu, qi = p[u].copy(), q[i].copy()
        if kernel == "rbf":
            k = np.exp(-gamma * np.sum((pu - qi) ** 2))
            pred = c + bu[u] + bi[i] + span * k
            d_bias, d_p, d_q = (
                1.0,
                -2 * gamma * span * k * (pu - qi),
                2 * gamma * span * k * (pu - qi),
            )
        elif kernel == "sigmoid":
            sg = sigmoid(c + bu[u] + bi[i] + pu @ qi)
            pred = lo + span * sg
            d_bias = span * sg * (1 - sg)
            d_p, d_q = d_bias * qi, d_bias * pu
        else:
            pred = c + bu[u] + bi[i] + pu @ qi
            d_bias, d_p, d_q = 1.0, qi, pu
        err = values[idx] - pred
        total += err
        bu[u] += lr * (err * d_bias - reg_bias * bu[u])
        bi[i] += lr * (err * d_bias - reg_bias * bi[i])
        p[u] = pu + lr * (err * d_p - reg * pu)
        q[i] = qi + lr * (err * d_q - reg * qi)
    return total


@pytest.mark.parametrize("kernel", ["linear", "sigmoid", "rbf"])
def test_one_epoch_matches_an_independent_numpy_reference(kernel: str) -> None:
    data = low_rank_ratings(n_users=30, n_items=20, density=0.4, seed=6)
    kw = dict(n_factors=18, lr=0.03, reg=0.02, reg_bias=0.01, init_std=0.3, gamma=0.4)
    model = KernelMF(kernel=kernel, n_epochs=1, seed=4, **kw).fit(data)

    rng = np.random.default_rng(4)
    s = {
        "p": rng.normal(0, 0.3, (data.n_users, 18)).astype(np.float32).astype(np.float64),
        "q": rng.normal(0, 0.3, (data.n_items, 18)).astype(np.float32).astype(np.float64),
        "bu": np.zeros(data.n_users),
        "bi": np.zeros(data.n_items),
    }
    mu = float(np.mean(data.value, dtype=np.float64))
    lo, span = 1.0, 4.0
    if kernel == "sigmoid":
        c = np.log((mu - lo) / span / (1 - (mu - lo) / span))
    elif kernel == "rbf":
        k0 = np.exp(-0.4 * np.sum((s["p"][data.user] - s["q"][data.item]) ** 2, axis=1))
        c = mu - span * k0.mean()
    else:
        c = mu
    order = rng.permutation(len(data))
    arrays = (data.user, data.item, data.value.astype(np.float64))
    total = reference_kernel_epoch(kernel, arrays, order, c, lo, span, 0.4, s, 0.03, 0.02, 0.01)
    np.testing.assert_allclose(model.user_factors_, s["p"], atol=1e-5)
    np.testing.assert_allclose(model.item_factors_, s["q"], atol=1e-5)
    np.testing.assert_allclose(model.user_bias_, s["bu"], atol=1e-5)
    np.testing.assert_allclose(model.item_bias_, s["bi"], atol=1e-5)
    expected_offset = c + total / len(data) if kernel == "rbf" else c
    assert model.offset_ == pytest.approx(expected_offset, abs=1e-5)


@pytest.mark.parametrize("kernel", ["linear", "sigmoid", "rbf"])
def test_predictions_follow_the_kernel_formula(kernel: str) -> None:
    data = low_rank_ratings()
    model = KernelMF(kernel=kernel, n_factors=6, n_epochs=5).fit(data)
    u, i = data.user[:50], data.item[:50]
    p, q = model.user_factors_[u].astype(np.float64), model.item_factors_[i].astype(np.float64)
    base = model.offset_ + model.user_bias_[u] + model.item_bias_[i]
    if kernel == "rbf":
        expected = base + 4.0 * np.exp(-model.gamma * ((p - q) ** 2).sum(1))
    elif kernel == "sigmoid":
        expected = 1.0 + 4.0 * sigmoid(base + (p * q).sum(1))
        assert np.all((expected >= 1) & (expected <= 5))
    else:
        expected = base + (p * q).sum(1)
    np.testing.assert_allclose(model.predict(u, i), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model._predict_pairs(None, u.astype(np.int32), i.astype(np.int32)),
                               expected, rtol=1e-5, atol=1e-5)  # fmt: skip


def test_logistic_is_the_sigmoid_kernel() -> None:
    data = low_rank_ratings()
    a = KernelMF(kernel="logistic", n_epochs=3).fit(data)
    b = KernelMF(kernel="sigmoid", n_epochs=3).fit(data)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    assert a._base_lr() == 0.02 and KernelMF(kernel="rbf")._base_lr() == 0.01


def _as_new_users(data: Interactions, users: list[int], prefix: str = "new") -> Interactions:
    part = data.subset(np.isin(data.user, users)).to_pandas()
    part["user"] = prefix + part["user"].astype(str)
    return Interactions.from_pandas(part, value="value", rating_scale=(1, 5))


@pytest.mark.parametrize("kernel", ["linear", "sigmoid", "rbf"])
def test_update_users_adds_new_users_with_items_frozen(kernel: str) -> None:
    data = low_rank_ratings()
    model = KernelMF(kernel=kernel, n_factors=6, n_epochs=20).fit(data)
    q, bi, n_users = model.item_factors_.copy(), model.item_bias_.copy(), model.n_users_
    new = _as_new_users(data, [0, 1])
    folded = model.fold_in(new)
    assert model.update_users(new) is model
    np.testing.assert_array_equal(model.item_factors_, q)
    np.testing.assert_array_equal(model.item_bias_, bi)
    assert model.n_users_ == n_users + 2 and len(model.users_) == n_users + 2
    rows = model.users_.index_of(folded.ids)
    assert (rows >= n_users).all()
    np.testing.assert_allclose(model.user_factors_[rows], folded.state["factors"])
    np.testing.assert_array_equal(model.user_counts_[rows], np.diff(folded.seen.indptr))
    # the added users now behave as known users: predictions and recommendations
    np.testing.assert_allclose(model.predict(rows, [0, 0]), model.predict(folded, [0, 0]))
    items, _ = model.recommend(rows, k=5)
    for r, row in enumerate(rows):
        assert not set(items[r]) & set(model.seen_[row].indices)
    # the newcomers fit their own ratings better than the cold-start fallback does
    idx = model.users_.index_of(new.users.id_of(new.user))
    items_idx = model.items_.index_of(new.items.id_of(new.item))
    fit = np.sqrt(np.mean((model.predict(idx, items_idx) - new.value) ** 2))
    cold = np.sqrt(np.mean((model.predict(np.full(len(new), -1), items_idx) - new.value) ** 2))
    assert fit < cold


def test_update_users_refreshes_known_users() -> None:
    data = low_rank_ratings()
    model = KernelMF(n_factors=6, n_epochs=20).fit(data)
    before = model.user_factors_.copy()
    only_some = data.subset((data.user == 2) & (data.item < 10))
    model.update_users(only_some, n_epochs=5)
    assert model.n_users_ == data.n_users
    assert not np.allclose(model.user_factors_[2], before[2])
    np.testing.assert_array_equal(np.delete(model.user_factors_, 2, 0), np.delete(before, 2, 0))
    assert set(model.seen_[2].indices) == set(only_some.item)
    refreshed = model.user_factors_[2].copy()
    model.update_users(only_some, n_epochs=5, lr=0.05)  # a larger step moves further
    step_default = np.abs(refreshed).sum()
    assert np.abs(model.user_factors_[2]).sum() > step_default
    with pytest.raises(ParamError, match="n_epochs"):
        model.update_users(only_some, n_epochs=0)
    with pytest.raises(ParamError, match="lr"):
        model.update_users(only_some, lr=-1.0)
    with pytest.raises(DataError):
        model.update_users(only_some.subset(np.zeros(len(only_some), bool)))


def test_update_users_then_save_and_load(tmp_path) -> None:
    data = low_rank_ratings()
    model = KernelMF(kernel="rbf", n_factors=4, n_epochs=5).fit(data)
    model.update_users(_as_new_users(data, [3]))
    loaded = KernelMF.load(model.save(tmp_path / "k.npz"))
    assert loaded.n_users_ == model.n_users_
    users = np.arange(model.n_users_)
    np.testing.assert_array_equal(loaded.recommend(users, 4)[0], model.recommend(users, 4)[0])


def test_divergence_and_bad_parameters() -> None:
    for kernel in ("linear", "rbf"):
        with pytest.raises(TrainingDiverged, match=r"epoch \d+.*lower learning rate"):
            KernelMF(kernel=kernel, lr=1e4, n_epochs=3, init_std=1.0).fit(low_rank_ratings())
    for bad in ({"kernel": "poly"}, {"gamma": 0}, {"n_epochs": 0}, {"n_factors": 0}):
        with pytest.raises(ParamError):
            KernelMF(**bad)


@pytest.mark.realdata
def test_every_kernel_learns_on_movielens(real_data_dir) -> None:
    data = load_ml100k(real_data_dir)
    targets = {"linear": 0.925, "sigmoid": 0.95, "rbf": 0.95}
    for kernel, target in targets.items():
        score = cv_rmse(lambda k=kernel: KernelMF(kernel=k), data, n_folds=2)
        assert score <= target, f"kernel-mf {kernel}: RMSE {score:.4f} on 2 folds of ML-100k"


@pytest.mark.realdata
def test_update_users_on_movielens_is_close_to_training_them(real_data_dir) -> None:
    """Users added by update_users predict their held-out ratings about as well as users
    the model was trained with (and far better than the cold-start fallback)."""
    data = load_ml100k(real_data_dir)
    train, test = kfold(data)[0]
    newcomers = np.arange(0, data.n_users, 10)
    is_new = np.isin(train.user, newcomers)
    model = KernelMF().fit(train.subset(~is_new))
    model.update_users(train.subset(is_new))
    new_test = test.subset(np.isin(test.user, newcomers))
    folded_rmse = rmse(model, new_test)
    full_rmse = rmse(KernelMF().fit(train), new_test)
    assert folded_rmse <= full_rmse + 0.03, (folded_rmse, full_rmse)
