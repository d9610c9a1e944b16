"""The PyTorch models beyond the contract: known answers (fold-in, ranking ties, nDCG),
training behaviour (callback, early stopping, divergence, threads), parameters and devices,
files, and the tutorial workflow on an ML-1M-style ``::`` file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from workbench_torch.models import TorchMF, TorchMLP, TorchNeuMF
from workbench_torch.placement import placement_of

from workbench.api import load_dataset, split
from workbench.errors import DataError, ParamError, TrainingDiverged
from workbench.model import EpochInfo, Model
from workbench.testing import holdout, low_rank_ratings

FIXTURE = Path(__file__).parent / "fixtures" / "data" / "torch" / "ratings_ml1m_style.dat"
CPU = {"device": "cpu", "threads": 1, "batch_size": 256}


@pytest.fixture(scope="module")
def data():
    return low_rank_ratings()


@pytest.fixture(scope="module")
def dot(data):
    return TorchMF(n_factors=6, n_epochs=15, lr=0.05, **CPU).fit(data)


# -- the tutorial workflow ---------------------------------------------------------------------
def test_tutorial_workflow_ml1m_file_holdout_train_save_load_predict(tmp_path: Path) -> None:
    ratings = load_dataset(
        {
            "name": "tabular",
            "path": str(FIXTURE),
            "sep": "::",
            "columns": "user,item,rating,timestamp",
        }
    )
    assert len(ratings) == 378 and ratings.is_explicit
    (fold,) = split(ratings, "holdout", ratio=0.3, seed=0)
    assert abs(len(fold.test) - 0.3 * len(ratings)) <= 1
    model = TorchMF(n_factors=4, n_epochs=40, lr=0.05, **CPU).fit(fold.train)
    path = model.save(tmp_path / "mf.npz")
    loaded = Model.load(path)
    assert isinstance(loaded, TorchMF) and loaded.get_params() == model.get_params()
    u, i = fold.test.user, fold.test.item
    np.testing.assert_array_equal(loaded.predict(u, i), model.predict(u, i))
    pred = np.clip(loaded.predict(u, i), 1, 5)
    rmse = np.sqrt(np.mean((pred - fold.test.value) ** 2))
    base = np.sqrt(np.mean((fold.test.value - fold.train.value.mean()) ** 2))
    assert rmse < base


# -- parameters and devices --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "params", "name"),
    [
        (TorchMF, {"n_factors": 0}, "n_factors"),
        (TorchMLP, {"hidden": []}, "hidden"),
        (TorchMLP, {"hidden": [8, 0]}, "hidden"),
        (TorchNeuMF, {"dropout": 1.0}, "dropout"),
        (TorchMF, {"device": "tpu"}, "device"),
        (TorchMF, {"loss": "hinge"}, "loss"),
    ],
)
def test_impossible_settings_are_one_line_parameter_errors(cls, params, name) -> None:
    with pytest.raises(ParamError) as err:
        cls(**params)
    assert name in str(err.value) and "\n" not in str(err.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_one_line_parameter_error(data) -> None:
    with pytest.raises(ParamError, match="parameter 'device'.*'cuda'.*not available") as err:
        TorchMF(device="cuda", n_epochs=1).fit(data)
    assert "\n" not in str(err.value)


def test_models_on_cuda_declare_they_cannot_fork(monkeypatch) -> None:
    assert TorchMF(device="cpu").can_fork()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert not TorchMF(device="cuda").can_fork()
    assert not TorchMF(device="auto").can_fork()


def test_mse_on_implicit_feedback_is_a_parameter_error() -> None:
    with pytest.raises(ParamError, match="loss='bpr'"):
        TorchMF(**CPU).fit(low_rank_ratings(kind="implicit"))


def test_ranking_losses_predict_scores_and_ratings_models_ratings() -> None:
    assert TorchMF().predicts_ratings()
    assert not TorchMF(loss="bpr").predicts_ratings()
    assert not TorchNeuMF(loss="bce").predicts_ratings()


def test_threads_parameter_sets_torch_threads_during_fit_only(data) -> None:
    before = torch.get_num_threads()
    seen: list[int] = []
    TorchMF(n_epochs=2, device="cpu", threads=1).fit(
        data, callback=lambda info: seen.append(torch.get_num_threads())
    )
    assert seen == [1, 1] and torch.get_num_threads() == before


def test_import_workbench_and_registry_do_not_import_torch() -> None:
    code = (
        "import sys, workbench; from workbench.plugins import get_registry; "
        "get_registry().get('model', 'torch-mf'); assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- training ----------------------------------------------------------------------------------
def test_callback_reports_loss_and_validation_rmse(data) -> None:
    train, test = holdout(data)
    infos: list[EpochInfo] = []
    TorchMF(n_epochs=4, **CPU).fit(train, validation=test, callback=infos.append)
    assert [i.epoch for i in infos] == [1, 2, 3, 4] and all(i.n_epochs == 4 for i in infos)
    assert all(np.isfinite(i.loss) and i.seconds >= 0 for i in infos)
    assert infos[-1].loss < infos[0].loss
    assert all(set(i.validation) == {"rmse"} for i in infos)


def test_early_stopping_restores_the_best_epoch(data) -> None:
    train, test = holdout(data, seed=3)
    infos: list[EpochInfo] = []
    model = TorchMF(
        n_factors=32,
        n_epochs=60,
        lr=0.1,
        reg=0.0,
        reg_bias=0.0,
        lr_schedule="constant",
        early_stopping_rounds=3,
        **CPU,
    )
    assert model.selects_on_validation()
    model.fit(train, validation=test, callback=infos.append)
    curve = [i.validation["rmse"] for i in infos]
    assert model.n_epochs_ == len(infos) < 60, "an overfitting model should stop early"
    assert model.best_epoch_ == int(np.argmin(curve)) + 1
    pred = np.clip(model.predict(test.user, test.item), 1, 5)
    restored = float(np.sqrt(np.mean((pred - test.value) ** 2)))
    assert restored == pytest.approx(min(curve), abs=1e-5)
    assert restored < curve[-1]


def test_early_stopping_without_validation_data_is_a_parameter_error(data) -> None:
    with pytest.raises(ParamError, match="needs validation data"):
        TorchMF(early_stopping_rounds=2, **CPU).fit(data)


def test_ranking_validation_reports_ndcg() -> None:
    data = low_rank_ratings(kind="implicit")
    infos: list[EpochInfo] = []
    TorchMF(loss="bpr", n_epochs=3, validation_fraction=0.2, **CPU).fit(data, callback=infos.append)
    assert all(0.0 <= i.validation["ndcg@10"] <= 1.0 for i in infos)


def test_nan_loss_stops_with_the_epoch_and_a_hint(data) -> None:
    model = TorchMF(lr=1e30, n_epochs=5, lr_schedule="constant", **CPU)
    with pytest.raises(TrainingDiverged, match=r"epoch \d.*lower learning rate than lr=1e\+30"):
        model.fit(data)
    assert not model.is_fitted


def test_same_seed_same_weights_different_seed_different(data) -> None:
    a = TorchMLP(n_epochs=3, seed=1, **CPU).fit(data)
    b = TorchMLP(n_epochs=3, seed=1, **CPU).fit(data)
    c = TorchMLP(n_epochs=3, seed=2, **CPU).fit(data)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    for name, arr in a.network_.items():
        np.testing.assert_array_equal(arr, b.network_[name])
    assert not np.array_equal(a.item_factors_, c.item_factors_)


def test_explicit_data_as_implicit_positive_threshold(data) -> None:
    model = TorchMF(loss="bce", positive_threshold=5, n_epochs=2, **CPU).fit(data)
    never_five = np.setdiff1d(np.arange(data.n_items), data.item[data.value >= 5])
    if len(never_five):  # items without a positive rank with the weakest known item
        known = np.setdiff1d(np.arange(data.n_items), never_five)
        assert np.all(model.item_bias_[never_five] == model.item_bias_[known].min())
        assert np.all(model.item_factors_[never_five] == 0)
    with pytest.raises(DataError, match="no positives"):
        TorchMF(loss="bpr", positive_threshold=6, **CPU).fit(data)


# -- known answers -----------------------------------------------------------------------------
def test_fold_in_converges_to_the_ridge_solution_with_items_frozen(dot, data) -> None:
    """Dot/MSE fold-in minimises mean((mu + b_u + b_i + p.q_i - r)^2 + reg |p|^2 +
    reg_bias b_u^2): a ridge regression with a closed form."""
    user = int(np.argmax(data.user_counts()))
    history = data.subset(data.user == user)
    items_before = dot.item_factors_.copy()
    folded = dot.fold_in(history, n_epochs=1500, lr=0.02)
    np.testing.assert_array_equal(dot.item_factors_, items_before)
    q, bi = dot.item_factors_[history.item], dot.item_bias_[history.item]
    x = np.hstack([q, np.ones((len(q), 1))]).astype(np.float64)
    y = history.value - dot.global_mean_ - bi
    n, f = len(y), q.shape[1]
    penalty = np.diag([dot.reg_value()] * f + [dot.reg_bias])
    theta = np.linalg.solve(x.T @ x / n + penalty, x.T @ y / n)
    np.testing.assert_allclose(folded.state["factors"][0], theta[:f], atol=2e-3)
    np.testing.assert_allclose(folded.state["bias"][0], theta[f], atol=2e-3)


def test_fold_in_keeps_the_network_frozen_and_options_are_checked(data) -> None:
    model = TorchMLP(n_factors=4, hidden=[8], n_epochs=2, **CPU).fit(data)
    net = {k: v.copy() for k, v in model.network_.items()}
    folded = model.fold_in(data.subset(data.user == 0))
    assert folded.state["factors"].shape == (1, 4)
    for k, v in model.network_.items():
        np.testing.assert_array_equal(v, net[k])
    with pytest.raises(ParamError, match="unknown fold-in option"):
        model.fold_in(data.subset(data.user == 0), epochs=3)


@pytest.mark.parametrize("arch", [TorchMF, TorchNeuMF])
def test_device_ranking_matches_the_default_ranking_with_ties(arch, data) -> None:
    model = arch(n_factors=4, n_epochs=2, **CPU).fit(data)
    # make many exact ties: items 0..29 become copies of items 30..59
    for attr in ("item_factors_", "item_bias_", "item_mlp_factors_"):
        arr = getattr(model, attr, None)
        if arr is not None:
            arr[:30] = arr[30:60]
    model._set_state_arrays(model._state_arrays())  # rebuild the device copy
    users = np.arange(20)
    state = model._user_state(users)
    seen = model.seen_[users]
    cand = np.arange(data.n_items)
    order = np.random.default_rng(0).permutation(len(cand))
    for k in (1, 5, 31, data.n_items + 2):
        for o in (None, order):
            got = model._rank(state, seen, cand, k, o)
            want = Model._rank(model, state, seen, cand, k, o)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-5)
            np.testing.assert_array_equal(got[2], want[2])


def test_validation_ndcg_matches_an_independent_computation() -> None:
    from workbench_torch.train import ndcg_at_10

    class Fixed:  # a stand-in network with known scores
        def __init__(self, scores: np.ndarray) -> None:
            self.scores = torch.tensor(scores, dtype=torch.float32)

        def item_tables(self) -> dict[str, Any]:
            return {}

        def user_part(self, users: torch.Tensor) -> torch.Tensor:
            return users

        def block_scores(self, users: torch.Tensor, items: Any) -> torch.Tensor:
            return self.scores[users].clone()

    rng = np.random.default_rng(0)
    scores = rng.normal(size=(6, 15))
    seen = sp.random(6, 15, density=0.2, random_state=1, format="csr").astype(bool)
    relevant = sp.random(6, 15, density=0.3, random_state=2, format="csr").astype(bool)
    relevant = relevant.multiply(~seen.toarray()).tocsr()
    rows = np.flatnonzero(np.diff(relevant.indptr) > 0)
    got = ndcg_at_10(Fixed(scores), rows, relevant, seen, torch.device("cpu"))
    values = []
    for u in rows:
        s = scores[u].copy()
        s[seen[u].indices] = -np.inf
        top = np.argsort(-s, kind="stable")[:10]
        gains = np.isin(top, relevant[u].indices)
        dcg = np.sum(gains / np.log2(np.arange(2, 12)))
        idcg = np.sum(1 / np.log2(np.arange(2, 2 + min(10, relevant[u].nnz))))
        values.append(dcg / idcg)
    assert got == pytest.approx(np.mean(values), rel=1e-6)


# -- files -------------------------------------------------------------------------------------
def test_files_hold_plain_arrays_and_a_gpu_trained_model_loads_on_cpu(tmp_path: Path) -> None:
    data = low_rank_ratings(n_users=30, n_items=20)
    model = TorchNeuMF(n_factors=4, hidden=[6, 3], n_epochs=2, **CPU).fit(data)
    model.set_params(device="cuda")  # as written by a model trained on a GPU
    path = model.save(tmp_path / "neumf.npz")
    with np.load(path, allow_pickle=False) as npz:
        names = set(npz.files)
        assert all(npz[n].dtype != object for n in names)
    assert {
        "state/net/layers.0.weight",
        "state/net/layers.1.weight",
        "state/net/out.weight",
        "state/user_mlp_factors",
        "state/item_mlp_factors",
    } <= names
    loaded = Model.load(path)
    assert loaded.device == "cuda" and placement_of(loaded).device.type in ("cpu", "cuda")
    u, i = data.user[:40], data.item[:40]
    model.set_params(device="cpu")
    np.testing.assert_allclose(loaded.predict(u, i), model.predict(u, i), rtol=1e-5, atol=1e-5)


def test_the_device_and_network_live_in_the_placement_not_on_the_model(data) -> None:
    """The model holds parameters and numpy arrays only: no torch object on it, in its clone
    or its pickle; the placement is rebuilt when the device or the arrays change."""
    import pickle

    model = TorchMF(n_factors=3, n_epochs=1, **CPU).fit(data)
    first = placement_of(model)
    assert first.device.type == "cpu" and placement_of(model) is first  # cached
    for obj in (model, model.clone(), pickle.loads(pickle.dumps(model))):
        held = [v for v in vars(obj).values() if isinstance(v, torch.nn.Module | torch.device)]
        assert not held
    before = model.predict(data.user[:20], data.item[:20])
    model.fit(data.subset(data.user < 10))  # new arrays: a new network
    assert placement_of(model) is not first
    model.set_params(threads=2)
    assert placement_of(model).threads == 2
    assert not np.array_equal(model.predict(data.user[:20], data.item[:20]), before)


# -- real data ---------------------------------------------------------------------------------
@pytest.mark.realdata
def test_defaults_reach_the_target_rmse_on_movielens(real_data_dir) -> None:
    from sgd_realdata import cv_rmse, load_ml100k

    data = load_ml100k(real_data_dir)
    score = cv_rmse(lambda: TorchMF(device="cpu", threads=1), data, n_folds=2)
    assert score <= 0.92, f"torch-mf defaults: RMSE {score:.4f} on 2 folds of ML-100k"
