"""SVD++: contract, an independent reference epoch, fold-in, saving the implicit factors,
divergence, parameters and accuracy on ML-100k."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sgd_realdata import cv_rmse, load_ml100k
from workbench_sgd.svdpp import SVDpp

from workbench.errors import ParamError, TrainingDiverged
from workbench.testing import ModelContract, low_rank_ratings


class TestSVDppContract(ModelContract):
    def make_model(self, **params: Any) -> SVDpp:
        return SVDpp(n_factors=8, n_epochs=30, **params)


def reference_svdpp_epoch(
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    order: np.ndarray,
    rated: list[np.ndarray],
    mu: float,
    s: dict[str, np.ndarray],
    lr: float,
    reg: float,
    reg_bias: float,
    reg_implicit: float,
) -> None:
    """Plain numpy (float64) SVD++ epoch over ratings grouped by user, in place.

    Within a user's block: per-rating SGD on b_u, b_i, p_u, q_i with the implicit part fixed;
    the y_j of the user's rated items move once at the end by the accumulated gradient.
    """
    users, items, values = (a[order] for a in data)
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    for lo, hi in zip(starts, np.r_[starts[1:], len(users)], strict=True):
        u = users[lo]
        rated_u = rated[u]
        norm = 1 / np.sqrt(len(rated_u))
        implicit = norm * s["y"][rated_u].sum(axis=0)
        grad = np.zeros_like(implicit)
        for t in range(lo, hi):
            i = items[t]
            z = s["p"][u] + implicit
            err = values[t] - (mu + s["bu"][u] + s["bi"][i] + z @ s["q"][i])
            s["bu"][u] += lr * (err - reg_bias * s["bu"][u])
            s["bi"][i] += lr * (err - reg_bias * s["bi"][i])
            old_q = s["q"][i].copy()
            s["p"][u] += lr * (err * old_q - reg * s["p"][u])
            s["q"][i] += lr * (err * z - reg * old_q)
            grad += err * old_q
        s["y"][rated_u] += lr * (norm * grad - reg_implicit * s["y"][rated_u])


def test_one_epoch_matches_an_independent_numpy_reference() -> None:
    data = low_rank_ratings(n_users=25, n_items=18, density=0.4, seed=5)
    kw = dict(n_factors=5, lr=0.02, reg=0.03, reg_bias=0.01, reg_implicit=0.04, init_std=0.2)
    model = SVDpp(n_epochs=1, seed=9, **kw).fit(data)

    rng = np.random.default_rng(9)
    f = 5
    s = {
        "p": rng.normal(0, 0.2, (data.n_users, f)).astype(np.float32).astype(np.float64),
        "q": rng.normal(0, 0.2, (data.n_items, f)).astype(np.float32).astype(np.float64),
        "y": rng.normal(0, 0.2, (data.n_items, f)).astype(np.float32).astype(np.float64),
        "bu": np.zeros(data.n_users),
        "bi": np.zeros(data.n_items),
    }
    rated = [np.sort(data.item[data.user == u]) for u in range(data.n_users)]
    perm = rng.permutation(len(data))
    rank = rng.permutation(data.n_users)
    order = perm[np.argsort(rank[data.user[perm]], kind="stable")]
    mu = float(np.mean(data.value, dtype=np.float64))
    arrays = (data.user, data.item, data.value.astype(np.float64))
    reference_svdpp_epoch(arrays, order, rated, mu, s, 0.02, 0.03, 0.01, 0.04)

    effective = np.stack([s["p"][u] + s["y"][rated[u]].sum(0) / np.sqrt(len(rated[u]))
                          for u in range(data.n_users)])  # fmt: skip
    np.testing.assert_allclose(model.implicit_, s["y"], atol=1e-5)
    np.testing.assert_allclose(model.item_factors_, s["q"], atol=1e-5)
    np.testing.assert_allclose(model.user_factors_, effective, atol=1e-5)
    np.testing.assert_allclose(model.user_bias_, s["bu"], atol=1e-5)
    np.testing.assert_allclose(model.item_bias_, s["bi"], atol=1e-5)


def test_implicit_factors_survive_save_and_load(tmp_path: Path) -> None:
    data = low_rank_ratings()
    model = SVDpp(n_factors=4, n_epochs=5).fit(data.subset(data.user != 0))
    loaded = SVDpp.load(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.implicit_, model.implicit_)
    history = data.subset(data.user == 0)
    a, b = model.fold_in(history), loaded.fold_in(history)
    np.testing.assert_array_equal(a.state["factors"], b.state["factors"])


def test_fold_in_uses_the_implicit_feedback_of_the_history() -> None:
    data = low_rank_ratings()
    model = SVDpp(n_factors=4, n_epochs=10, fold_in_epochs=1).fit(data.subset(data.user != 0))
    history = data.subset(data.user == 0)
    folded = model.fold_in(history)
    assert np.abs(folded.state["factors"]).sum() > 0
    # With no SGD moves at all (lr tiny), the vector is the implicit part alone.
    model.set_params(lr=1e-12)
    rated = np.sort(history.item)
    expected = model.implicit_[rated].sum(axis=0) / np.sqrt(len(rated))
    np.testing.assert_allclose(model.fold_in(history).state["factors"][0], expected, atol=1e-6)


def test_divergence_and_bad_parameters() -> None:
    with pytest.raises(TrainingDiverged, match=r"epoch \d+.*lower learning rate"):
        SVDpp(lr=1e4, n_epochs=3).fit(low_rank_ratings())
    for bad in ({"n_epochs": 0}, {"n_factors": -2}, {"reg_implicit": -1.0}):
        with pytest.raises(ParamError):
            SVDpp(**bad)


@pytest.mark.realdata
def test_defaults_reach_the_target_rmse_on_movielens(real_data_dir) -> None:
    data = load_ml100k(real_data_dir)
    score = cv_rmse(SVDpp, data, n_folds=2)
    assert score <= 0.910, f"svdpp defaults: RMSE {score:.4f} on 2 folds of ML-100k"
