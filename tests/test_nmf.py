"""The `nmf` (zero-filled, scikit-learn) and `nmf-observed` models: contract, equality with
scikit-learn, known answers, fold-in, clusters (API and CLI), bad input."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from workbench_nmf import solvers
from workbench_nmf.models import NMF, ObservedNMF

from workbench.data import Interactions
from workbench.errors import DataError, TrainingDiverged
from workbench.model import EpochInfo
from workbench.testing import ModelContract, low_rank_ratings


class TestNMFContract(ModelContract):
    def make_model(self, **params: Any) -> NMF:
        return NMF(n_components=5, max_iter=30, init="random", **params)


class TestNMFImplicitContract(ModelContract):
    def make_model(self, **params: Any) -> NMF:
        return NMF(n_components=5, max_iter=30, solver="mu", init="random", **params)

    def make_data(self) -> Interactions:
        return low_rank_ratings(kind="implicit")


class TestObservedNMFContract(ModelContract):
    def make_model(self, **params: Any) -> ObservedNMF:
        return ObservedNMF(n_factors=4, n_epochs=30, **params)


class TestObservedNMFMultiplicativeContract(ModelContract):
    def make_model(self, **params: Any) -> ObservedNMF:
        return ObservedNMF(n_factors=4, n_epochs=60, solver="mu", reg_user=0.06,
                           reg_item=0.06, **params)


@pytest.mark.parametrize(
    "solver, params",
    [("cd", {"alpha_W": 0.01}), ("cd", {"alpha_W": 0.01, "alpha_H": 0.003, "l1_ratio": 0.4}),
     ("cd", {"init": "random"}), ("mu", {"alpha_W": 0.01})],
)
def test_zero_filled_equals_one_scikit_learn_call(solver: str, params: dict) -> None:
    """The model's factors at tol=0 are one scikit-learn call's, bitwise (scikit-learn on one
    BLAS thread, as the model runs it: its own results move with the BLAS threads)."""
    from sklearn.decomposition import non_negative_factorization
    from threadpoolctl import threadpool_limits

    data = low_rank_ratings(seed=2)
    X = data.csr().astype(np.float32)
    model = NMF(n_components=4, max_iter=25, tol=0, solver=solver, seed=3, **params)
    model.fit(data)
    with threadpool_limits(1, "blas"):
        W, H, n_iter = non_negative_factorization(
            X, n_components=4, max_iter=25, tol=0, solver=solver, random_state=3, **params
        )
    assert model.n_iter_ == 25
    np.testing.assert_array_equal(model.user_factors_, W)
    np.testing.assert_array_equal(model.item_factors_, H.T)


def _random_sparse(n: int, m: int, density: float, seed: int, dtype) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    X = sp.random(n, m, density=density, random_state=rng, dtype=np.float64, format="csr")
    X.data = rng.integers(1, 6, X.nnz).astype(np.float64) * rng.random(X.nnz)
    return X.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("l1, l2", [(0.0, 0.0), (0.3, 0.0), (0.0, 0.7), (0.2, 1.5)])
def test_cd_half_step_is_scikit_learns_update(dtype, l1: float, l2: float) -> None:
    """One W step (and one H step, through X^T) against scikit-learn's own
    `_update_coordinate_descent`, bitwise, with l1/l2 terms, on random sparse data."""
    from sklearn.decomposition._nmf import _update_coordinate_descent

    X = _random_sparse(40, 30, 0.2, seed=int(10 * l1 + l2), dtype=dtype)
    rng = np.random.default_rng(1)
    W = rng.random((40, 6)).astype(dtype)
    Ht = rng.random((30, 6)).astype(dtype)
    W[rng.random(W.shape) < 0.2] = 0.0  # zeros, as the projection leaves them
    ours_W, ref_W = W.copy(), W.copy()
    XHt = solvers.cd_half_step(X, ours_W, Ht, l1, l2)
    _update_coordinate_descent(X, ref_W, Ht, l1, l2, False, None)
    np.testing.assert_array_equal(ours_W, ref_W)
    np.testing.assert_array_equal(XHt, X @ Ht)  # returned before the l1 term
    ours_H, ref_H = Ht.copy(), Ht.copy()
    gram = np.dot(ours_W.T, ours_W)
    solvers.cd_half_step(X.T, ours_H, ours_W, l1, l2, gram)
    _update_coordinate_descent(X.T, ref_H, ref_W, l1, l2, False, None)
    np.testing.assert_array_equal(ours_H, ref_H)
    np.testing.assert_array_equal(gram, np.dot(ours_W.T, ours_W))  # the caller's not touched
    assert (ours_W >= 0).all() and (ours_H >= 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_zero_filled_equals_scikit_learn_on_random_sparse_data(dtype) -> None:
    from sklearn.decomposition import non_negative_factorization
    from threadpoolctl import threadpool_limits

    X = _random_sparse(50, 35, 0.15, seed=7, dtype=dtype)
    kwargs = {"alpha_W": 0.002, "alpha_H": 0.001, "l1_ratio": 0.5}
    cfg = solvers.ZeroFilledConfig(n_components=5, max_iter=40, tol=0.0, seed=4, **kwargs)
    with threadpool_limits(1, "blas"):
        W, H, losses = solvers.fit_zero_filled(X, cfg)
        W_ref, H_ref, _ = non_negative_factorization(
            X, n_components=5, max_iter=40, tol=0.0, random_state=4, **kwargs
        )
    assert len(losses) == 40 and W.dtype == dtype
    np.testing.assert_array_equal(W, W_ref)
    np.testing.assert_array_equal(H, H_ref)


def test_gram_relative_error_matches_dense() -> None:
    rng = np.random.default_rng(5)
    dense = (rng.random((7, 9)) < 0.4) * rng.random((7, 9)) * 4
    X = sp.csr_matrix(dense)
    W, H = rng.random((7, 3)), rng.random((3, 9))
    Ht = np.ascontiguousarray(H.T)
    got = solvers.gram_relative_error(
        float(np.sum(dense**2)), X.T @ W, Ht, W.T @ W, H @ H.T
    )
    want = np.sum((dense - W @ H) ** 2) / np.sum(dense**2)
    assert got == pytest.approx(want, rel=1e-12)
    assert solvers.relative_error(X, W, H, float(np.sum(dense**2))) == pytest.approx(
        want, rel=1e-12
    )


def test_fold_in_equals_scikit_learn_update_h_false() -> None:
    from sklearn.decomposition import non_negative_factorization

    data = low_rank_ratings(seed=3)
    model = NMF(n_components=4, max_iter=60, fold_in_iter=50).fit(data)
    users = np.array([0, 5, 9])
    folded = model.fold_in(data.subset(np.isin(data.user, users)))
    rows = folded.index_of(data.users.id_of(users))
    X = data.csr()[users].astype(np.float32)
    H = np.ascontiguousarray(model.item_factors_.T)
    W, _, _ = non_negative_factorization(
        X, H=H, n_components=4, update_H=False, max_iter=50, tol=1e-6, random_state=0
    )
    np.testing.assert_allclose(folded.state["factors"][rows], W, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "make",
    [lambda: NMF(n_components=4, max_iter=400, tol=0),
     lambda: ObservedNMF(n_factors=4, n_epochs=200, sweeps=10)],
)
def test_training_user_folded_in_again_gets_nearly_the_same_vector(make) -> None:
    data = low_rank_ratings(seed=6)
    model = make().fit(data)
    users = np.array([1, 2, 3, 4])
    folded = model.fold_in(data.subset(np.isin(data.user, users)))
    got = folded.state["factors"][folded.index_of(data.users.id_of(users))]
    want = model.user_factors_[users]
    np.testing.assert_allclose(got, want, atol=0.03 * np.abs(want).max())


def test_observed_cd_step_solves_the_nonnegative_ridge() -> None:
    from scipy.optimize import nnls

    rng = np.random.default_rng(0)
    dense = (rng.random((12, 15)) < 0.5) * rng.integers(1, 6, (12, 15)).astype(float)
    Q = rng.random((15, 3)).astype(np.float32)
    got = solvers.observed_fold_in(sp.csr_matrix(dense), Q, 0.1, sweeps=2000)
    for u in range(12):
        obs = np.flatnonzero(dense[u])
        lam = np.sqrt(0.1 * len(obs))
        A = np.vstack([Q[obs].astype(float), lam * np.eye(3)])
        b = np.concatenate([dense[u, obs], np.zeros(3)])
        np.testing.assert_allclose(got[u], nnls(A, b)[0], atol=1e-4)


def test_observed_mu_step_is_surprises_update() -> None:
    rng = np.random.default_rng(1)
    dense = (rng.random((6, 8)) < 0.6) * rng.integers(1, 6, (6, 8)).astype(float)
    P = rng.random((6, 2)).astype(np.float32)
    Q = rng.random((8, 2)).astype(np.float32)
    want = P.astype(float).copy()
    for u in range(6):
        obs = np.flatnonzero(dense[u])
        est = P[u] @ Q[obs].T
        num = Q[obs].T @ dense[u, obs]
        den = Q[obs].T @ est + len(obs) * 0.06 * P[u]
        want[u] = P[u] * num / den
    solvers.half_step(sp.csr_matrix(dense, dtype=np.float32), P, Q, 0.06, "mu", 1)
    np.testing.assert_allclose(P, want, rtol=1e-5)


def test_relative_error_matches_dense() -> None:
    data = low_rank_ratings(seed=4)
    model = NMF(n_components=3, max_iter=5).fit(data)
    X = data.csr().toarray()
    dense = np.sum((X - model.user_factors_ @ model.item_factors_.T) ** 2) / np.sum(X**2)
    assert model.loss_history_[-1] == pytest.approx(dense, rel=1e-4)


def test_progress_per_iteration_and_tol_stop() -> None:
    seen: list[EpochInfo] = []
    model = NMF(n_components=3, max_iter=500, tol=1e-3)
    model.fit(low_rank_ratings(), callback=seen.append)
    assert 1 < len(seen) < 500 and [e.epoch for e in seen] == list(range(1, len(seen) + 1))
    assert model.n_iter_ == len(seen)
    obs: list[EpochInfo] = []
    ObservedNMF(n_factors=3, n_epochs=7).fit(low_rank_ratings(), callback=obs.append)
    assert len(obs) == 7 and obs[-1].loss < obs[0].loss


def test_negative_values_are_refused_in_one_line() -> None:
    data = Interactions.from_arrays(["a", "b", "c"], ["x", "y", "x"], [1.0, -2.0, 3.0],
                                    rating_scale=(-5, 5), name="signed")
    for model in (NMF(n_components=1), ObservedNMF(n_factors=1)):
        with pytest.raises(DataError, match=r"'signed'.*1 negative \(min -2\)") as info:
            model.fit(data)
        assert "\n" not in str(info.value)
    fitted = NMF(n_components=1, max_iter=3).fit(low_rank_ratings())
    neg = Interactions.from_arrays(["n"], ["i1"], [-1.0], rating_scale=(-5, 5))
    with pytest.raises(DataError, match="fold-in history"):
        fitted.fold_in(neg)


def test_all_zero_history_folds_in_as_a_cold_user() -> None:
    data = low_rank_ratings(kind="implicit")
    model = NMF(n_components=3, max_iter=10).fit(data)
    zeros = Interactions.from_arrays(["z", "z"], data.items.id_of([0, 1]), [0.0, 0.0],
                                     kind="implicit")
    folded = model.fold_in(zeros)
    assert np.all(folded.state["factors"] == 0)
    items, scores = model.recommend(folded, k=3)
    assert (items >= 0).all() and np.all(scores == 0)


def test_observed_nmf_cold_users_get_the_mean() -> None:
    data = low_rank_ratings()
    model = ObservedNMF(n_factors=3, n_epochs=5).fit(data.subset(data.user != 0))
    mean = data.subset(data.user != 0).value.mean()
    np.testing.assert_allclose(model.predict([0, -1, 1], [3, 3, -1]), mean, rtol=1e-5)


def test_nan_stops_with_the_iteration() -> None:
    data = low_rank_ratings()
    data = data._replace(value=np.where(np.arange(len(data)) == 0, np.inf, data.value))
    with pytest.raises((TrainingDiverged, DataError), match="iteration 1|finite"):
        ObservedNMF(n_factors=2, n_epochs=3).fit(data)
    with pytest.raises(DataError, match="finite"):
        NMF(n_components=2, max_iter=3).fit(data)


def test_clusters_from_the_api() -> None:
    data = low_rank_ratings(seed=8)
    titles = {i: f"title {i}" for i in data.items.ids}
    data = data._replace(item_metadata=None)
    model = NMF(n_components=3, max_iter=50).fit(data)
    result = model.clusters(top_n=4)
    W = model.user_factors_
    np.testing.assert_array_equal(result.assignments["cluster"], np.argmax(W, axis=1))
    assert result.sizes().sum() == data.n_users
    comp = result.components
    assert len(comp) == 3 * 4
    first = comp[comp["component"] == 0]
    np.testing.assert_array_equal(
        first["item"], np.argsort(-model.item_factors_[:, 0], kind="stable")[:4]
    )
    assert set(first["size"]) == {int(result.sizes()[0])}
    assert titles  # the synthetic data has no titles: the column is empty strings
    assert (comp["title"] == "").all()


def test_clusters_cli_with_titles(tmp_path, capsys) -> None:
    from workbench.cli.app import main
    from workbench.plugins import set_loaded

    def cli(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        return code, capsys.readouterr().out

    set_loaded(None)
    frame = low_rank_ratings(seed=9).to_pandas().rename(columns={"value": "rating"})
    ratings, items = tmp_path / "ratings.csv", tmp_path / "items.csv"
    frame.to_csv(ratings, index=False)
    titles = frame[["item"]].drop_duplicates().rename(columns={"item": "id"})
    titles["title"] = "Movie " + titles["id"].astype(str)
    titles.to_csv(items, index=False)
    out = tmp_path / "nmf.npz"
    code, text = cli("train", "nmf", "-d", f"tabular path={ratings} items={items}",
                     "-p", "n_components=3", "-p", "max_iter=30", "-o", out, "-q")
    assert code == 0, text
    code, text = cli("clusters", out, "--top", "2", "--json")
    assert code == 0, text
    payload = json.loads(text)
    assert len(payload["components"]) == 6
    assert all(c["title"].startswith("Movie ") for c in payload["components"])
    sizes = {c["component"]: c["size"] for c in payload["components"]}
    assert sum(sizes.values()) + payload["unassigned_users"] == frame["user"].nunique()
    code, text = cli("clusters", out, "-c", "1")
    assert code == 0 and "Movie " in text
    set_loaded(None)


@pytest.mark.realdata
def test_observed_nmf_defaults_reach_the_target_rmse(real_data_dir) -> None:
    from sgd_realdata import cv_rmse, load_ml100k

    score = cv_rmse(ObservedNMF, load_ml100k(real_data_dir), n_folds=2)
    assert score <= 0.95, f"nmf-observed defaults: RMSE {score:.4f} on 2 folds of ML-100k"


def test_clusters_module_does_not_import_the_models_at_run_time() -> None:
    """The cycle workbench_nmf.clusters <-> workbench_nmf.models (a function-level import
    back into the models) is gone: models use clusters, clusters never import models."""
    import ast
    from pathlib import Path

    import workbench_nmf.clusters as clusters

    tree = ast.parse(Path(clusters.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    } | {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert not {m for m in imported if m and m.startswith("workbench_nmf")}, imported
    with pytest.raises(DataError, match="zero-filled 'nmf' model"):
        clusters.nmf_clusters(ObservedNMF(n_epochs=2).fit(low_rank_ratings()))
