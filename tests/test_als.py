"""The `als` (explicit) and `ials` (implicit) models: contract, known answers against dense
numpy solves and `implicit`, fold-in, singular systems, divergence, threads, explicit data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from workbench_als import solvers
from workbench_als.models import ALS, ImplicitALS

from workbench.data import Interactions
from workbench.errors import DataError, ParamError, TrainingDiverged
from workbench.factor.fold_in import confidence_fold_in
from workbench.model import EpochInfo
from workbench.testing import ModelContract, low_rank_ratings


class TestALSContract(ModelContract):
    def make_model(self, **params: Any) -> ALS:
        return ALS(n_factors=6, n_iterations=8, reg=0.1, **params)


class TestUnbiasedALSContract(ModelContract):
    def make_model(self, **params: Any) -> ALS:
        return ALS(n_factors=6, n_iterations=8, reg=0.1, biased=False, **params)


class TestVariationalALSContract(ModelContract):
    def make_model(self, **params: Any) -> ALS:
        return ALS(n_factors=6, n_iterations=8, method="vb", **params)


class TestVariationalALSDiagonalContract(ModelContract):
    def make_model(self, **params: Any) -> ALS:
        return ALS(
            n_factors=6, n_iterations=8, method="vb", vb_user_covariance="diagonal", **params
        )


class TestImplicitALSContract(ModelContract):
    def make_model(self, **params: Any) -> ImplicitALS:
        return ImplicitALS(n_factors=6, n_iterations=6, **params)

    def make_data(self) -> Interactions:
        return low_rank_ratings(kind="implicit")


class TestImplicitALSCholeskyOnRatings(ModelContract):
    """Explicit ratings used as confidences, exact solver."""

    def make_model(self, **params: Any) -> ImplicitALS:
        return ImplicitALS(n_factors=6, n_iterations=6, solver="cholesky", **params)


def small_matrix(seed: int = 0, n: int = 30, m: int = 25) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n, m)) < 0.25) * rng.integers(1, 6, (n, m)).astype(np.float64)


def dense_hu_koren(dense_row: np.ndarray, Y: np.ndarray, reg: float, conf: np.ndarray):
    """Independent reference: the Hu-Koren normal equations of one user, dense numpy."""
    Y = Y.astype(np.float64)
    p = (dense_row > 0).astype(np.float64)
    A = Y.T @ np.diag(conf) @ Y + reg * np.eye(Y.shape[1])
    return np.linalg.solve(A, Y.T @ (conf * p))


@pytest.mark.parametrize("kind", ["linear", "log"])
def test_implicit_fold_in_solves_the_dense_normal_equations(kind: str) -> None:
    dense = small_matrix()
    csr = solvers.clean_csr(sp.csr_matrix(dense))
    Y = np.random.default_rng(1).normal(0, 0.5, (dense.shape[1], 5)).astype(np.float32)
    # the one Hu-Koren-Volinsky user solve (ials folds in through it)
    got = confidence_fold_in(csr, Y, reg=0.3, alpha=2.0, kind=kind, eps=0.5)
    for u in (0, 7, 19):
        c = np.ones(dense.shape[1])
        obs = dense[u] > 0
        r = dense[u][obs]
        c[obs] = 1 + 2.0 * (r if kind == "linear" else np.log1p(r / 0.5))
        np.testing.assert_allclose(got[u], dense_hu_koren(dense[u], Y, 0.3, c), atol=2e-5)


def test_cg_converges_to_the_exact_solve() -> None:
    dense = small_matrix(2)
    csr = solvers.clean_csr(sp.csr_matrix(dense))
    conf = solvers.with_confidence(csr, 1.0, "linear", 1)
    Y = np.random.default_rng(3).normal(0, 0.5, (dense.shape[1], 4)).astype(np.float32)
    exact = confidence_fold_in(csr, Y, reg=0.2, alpha=1.0)
    X = np.zeros_like(exact)
    solvers.implicit_half_step(conf, X, Y, 0.2, "cg", cg_steps=4)  # f steps: exact in theory
    np.testing.assert_allclose(X, exact, atol=1e-3)


def test_training_with_cg_tracks_cholesky() -> None:
    data = low_rank_ratings(kind="implicit", seed=4)
    chol = ImplicitALS(n_factors=5, n_iterations=5, solver="cholesky").fit(data)
    cg = ImplicitALS(n_factors=5, n_iterations=5, solver="cg", cg_steps=5).fit(data)
    assert abs(cg.loss_history_[-1] - chol.loss_history_[-1]) < 1e-3 * chol.loss_history_[-1]


def test_recalculate_user_equivalence_with_implicit() -> None:
    implicit_als = pytest.importorskip("implicit.cpu.als")
    data = low_rank_ratings(kind="implicit", seed=5)
    # implicit's confidence is alpha * r, ours 1 + alpha * r: give it our confidences, alpha 1
    model = ImplicitALS(n_factors=6, n_iterations=3, alpha=2.0, reg=0.2, reg_exponent=0).fit(data)
    conf = solvers.with_confidence(solvers.clean_csr(data.csr()), 2.0, "linear", 1.0)
    ref = implicit_als.AlternatingLeastSquares(
        factors=6, regularization=0.2, alpha=1.0, random_state=0
    )
    ref.item_factors = model.item_factors_.copy()
    ref.user_factors = model.user_factors_.copy()
    users = np.array([0, 3, 11])
    theirs = ref.recalculate_user(users, conf[users])
    ours = model.fold_in(data.subset(np.isin(data.user, users))).state["factors"]
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "make", [lambda: ALS(n_factors=5, n_iterations=25, reg=0.05),
             lambda: ImplicitALS(n_factors=5, n_iterations=25, solver="cholesky")],
)
def test_training_user_folded_in_again_gets_nearly_the_same_vector(make) -> None:
    data = low_rank_ratings(seed=6)
    model = make().fit(data)
    users = np.array([1, 2, 3, 4])
    folded = model.fold_in(data.subset(np.isin(data.user, users)))
    rows = folded.index_of(data.users.id_of(users))
    got = folded.state["factors"][rows]
    want = model.user_factors_[users]
    cos = np.sum(got * want, axis=1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    assert cos.min() > 0.99, cos
    np.testing.assert_allclose(got, want, atol=0.05 * np.abs(want).max())


def ridge_problem() -> tuple[np.ndarray, sp.csr_matrix, np.ndarray, np.ndarray]:
    """(dense ratings, the same as CSR, item factors, item biases) of a small half-step."""
    dense = small_matrix(7)
    rng = np.random.default_rng(8)
    Y = rng.normal(0, 0.5, (dense.shape[1], 4)).astype(np.float32)
    bi = rng.normal(0, 0.3, dense.shape[1]).astype(np.float32)
    return dense, solvers.as_csr(sp.csr_matrix(dense)), Y, bi


@pytest.mark.parametrize(
    ("exponent", "offset"), [(1.0, 0.0), (0.0, 0.0), (0.7, 2.5)], ids=["wlambda", "ridge", "mixed"]
)
@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_explicit_half_step_matches_dense_ridge(exponent: float, offset: float, solver: str):
    dense, ratings, Y, bi = ridge_problem()
    # 8 steps on 5 unknowns: in float32 (IEEE, no fused multiply-add) exactly 5 steps stop
    # about 1e-3 short on some rows, one more reaches 1e-5
    X, bu = solvers.explicit_half_step(
        ratings, 3.0, bi, Y, 0.1, 0.02, True, solver=solver, cg_steps=8,
        reg_exponent=exponent, reg_offset=offset,
    )  # fmt: skip
    for u in (0, 5, 12):
        obs = np.flatnonzero(dense[u])
        Z = np.hstack([Y[obs], np.ones((len(obs), 1))]).astype(np.float64)
        lam = (len(obs) ** exponent + offset) * np.diag([0.1] * 4 + [0.02])
        sol = np.linalg.solve(Z.T @ Z + lam, Z.T @ (dense[u, obs] - 3.0 - bi[obs]))
        np.testing.assert_allclose(np.r_[X[u], bu[u]], sol, atol=1e-4)


def test_penalty_weights_default_is_the_count_itself() -> None:
    counts = np.array([0, 1, 4, 100])
    np.testing.assert_array_equal(solvers.penalty_weights(counts, 1.0, 0.0), counts)
    np.testing.assert_allclose(solvers.penalty_weights(counts, 0.5, 1.0), [1, 2, 3, 11])
    np.testing.assert_array_equal(solvers.penalty_weights(counts, 0.0, 0.0), [1, 1, 1, 1])


def test_fold_in_uses_the_same_penalty_as_training() -> None:
    # with the items frozen at convergence, the exact user half-step of fold-in reproduces
    # the trained users only if it applies the same penalty weights
    data = low_rank_ratings(seed=4)
    params = {"n_factors": 4, "n_iterations": 30, "solver": "cholesky"}
    model = ALS(**params, reg_exponent=0.6, reg_offset=3.0).fit(data)
    users = np.array([0, 1, 2, 3])
    folded = model.fold_in(data.subset(np.isin(data.user, users)))
    got = folded.state["factors"][folded.index_of(data.users.id_of(users))]
    np.testing.assert_allclose(got, model.user_factors_[users], atol=5e-3)
    for exponent, offset in ((1.0, 0.0), (0.6, 0.0)):  # another penalty: another answer
        other, _ = solvers.explicit_fold_in(
            data.csr()[users], model.global_mean_, model.item_bias_, model.item_factors_,
            model.reg, model.reg_bias, True, reg_exponent=exponent, reg_offset=offset,
        )  # fmt: skip
        assert np.abs(other - model.user_factors_[users]).max() > 0.01


def dense_vb_reference(dense, mu, M, S, precision, prior_mean, tau):
    """Independent reference of the variational row update (Lim and Teh 2007), dense numpy:
    for each row the posterior mean, covariance and expected squared error of its entries,
    the error variance written out term by term (not from the normal equations)."""
    g = M.shape[1]
    f = g - 1
    means, covs, sses = [], [], []
    for u in range(dense.shape[0]):
        obs = np.flatnonzero(dense[u])
        A, rhs = np.diag(precision), precision * prior_mean
        for j in obs:
            t, mq, mc = dense[u, j] - mu, M[j, :f], M[j, f]
            exx = np.zeros((g, g))
            exx[:f, :f] = np.outer(mq, mq) + S[j][:f, :f]
            exx[:f, f] = exx[f, :f] = mq
            exx[f, f] = 1.0
            A = A + tau * exx
            rhs = rhs + tau * np.r_[(t - mc) * mq - S[j][:f, f], t - mc]
        cov = np.linalg.inv(A)
        mean = cov @ rhs
        mp, mb, spp, spb = mean[:f], mean[f], cov[:f, :f], cov[:f, f]
        sse = 0.0
        for j in obs:
            t, mq, mc = dense[u, j] - mu, M[j, :f], M[j, f]
            sqq, sqc, scc = S[j][:f, :f], S[j][:f, f], S[j][f, f]
            err = t - (mp @ mq + mb + mc)
            var = (mp @ sqq @ mp + mq @ spp @ mq + np.trace(spp @ sqq) + cov[f, f] + scc
                   + 2 * mq @ spb + 2 * mp @ sqc)  # fmt: skip
            sse += err * err + var
        means.append(mean)
        covs.append(cov)
        sses.append(sse)
    return np.array(means), np.array(covs), np.array(sses)


@pytest.mark.parametrize("other_full", [True, False], ids=["other-full", "other-diagonal"])
@pytest.mark.parametrize("full", [True, False], ids=["full", "diagonal"])
def test_vb_half_step_matches_a_dense_reference(other_full: bool, full: bool) -> None:
    rng = np.random.default_rng(0)
    dense = small_matrix(3, n=14, m=9)
    dense[4] = 0.0  # a row without ratings gets the prior
    g = 4
    M = rng.normal(0, 0.5, (9, g))
    B = rng.normal(0, 0.3, (9, g, g))
    S = B @ B.transpose(0, 2, 1) + 0.05 * np.eye(g)
    if not other_full:
        S = S * np.eye(g)
    S = S.astype(np.float32).astype(np.float64)
    precision, prior_mean = rng.uniform(0.5, 3, g), rng.normal(0, 0.2, g)
    low = np.tril_indices(g)
    packed = S[:, low[0], low[1]] if other_full else S[:, np.arange(g), np.arange(g)]
    ratings = solvers.as_csr(sp.csr_matrix(dense))
    targets = (ratings.data - np.float32(3.1)).astype(np.float32)
    mean, cov, sse = solvers.vb_half_step(
        ratings, targets, M, packed.astype(np.float32), other_full, prior_mean, precision, 1.7,
        full=full,
    )  # fmt: skip
    ref_mean, ref_cov, ref_sse = dense_vb_reference(dense, 3.1, M, S, precision, prior_mean, 1.7)
    np.testing.assert_allclose(mean, ref_mean, atol=1e-6)
    np.testing.assert_allclose(sse, ref_sse, rtol=1e-6, atol=1e-6)
    want = ref_cov[:, low[0], low[1]] if full else ref_cov[:, np.arange(g), np.arange(g)]
    np.testing.assert_allclose(cov, want, atol=1e-6)
    np.testing.assert_allclose(mean[4], prior_mean)
    assert sse[4] == 0.0


def test_vb_step_without_uncertainty_is_the_ridge_step() -> None:
    # with the other side known exactly (zero covariances) and a zero-mean prior, the
    # posterior mean is the MAP ridge solution with reg = prior precision / noise precision
    dense, ratings, Y, bi = ridge_problem()
    X, bu = solvers.explicit_half_step(
        ratings, 3.0, bi, Y, 0.1, 0.02, True, reg_exponent=0.0, reg_offset=0.0
    )
    tau = 2.0
    precision = tau * np.array([0.1] * 4 + [0.02])
    other = np.column_stack([Y, bi]).astype(np.float64)
    targets = (ratings.data - np.float32(3.0)).astype(np.float32)
    mean, _, _ = solvers.vb_half_step(
        ratings, targets, other, np.zeros((dense.shape[1], 15), np.float32), True,
        np.zeros(5), precision, tau,
    )  # fmt: skip
    np.testing.assert_allclose(mean[:, :4], X, atol=1e-5)
    np.testing.assert_allclose(mean[:, 4], bu, atol=1e-5)


def test_vb_learns_the_noise_level() -> None:
    # rank-2 ratings plus Gaussian noise of sd 0.5: the learned noise precision is near 4
    rng = np.random.default_rng(1)
    n_users, n_items = 150, 120
    P, Q = rng.normal(0, 0.8, (n_users, 2)), rng.normal(0, 0.8, (n_items, 2))
    mask = rng.random((n_users, n_items)) < 0.5
    u, i = np.nonzero(mask)
    values = 3.0 + np.sum(P[u] * Q[i], axis=1) + rng.normal(0, 0.5, len(u))
    data = Interactions.from_arrays(u, i, values)
    model = ALS(n_factors=4, n_iterations=30, method="vb").fit(data)
    assert model.vb_posterior_.noise_precision == pytest.approx(4.0, rel=0.15)
    # the two unused dimensions are switched off by their learned priors (automatic
    # relevance determination): their share of the predictions is tiny
    share = np.sort(np.abs(model.user_factors_).mean(0) * np.abs(model.item_factors_).mean(0))
    assert share[2] > 100 * share[1]


@pytest.mark.parametrize("covariance", ["full", "diagonal"])
def test_vb_fold_in_reproduces_the_trained_users(covariance: str, tmp_path) -> None:
    data = low_rank_ratings(seed=4)
    model = ALS(
        n_factors=4, n_iterations=40, method="vb", vb_user_covariance=covariance
    ).fit(data)
    users = np.array([0, 1, 2, 3])
    history = data.subset(np.isin(data.user, users))
    for fitted in (model, ALS.load(model.save(tmp_path / "vb"))):
        folded = fitted.fold_in(history)
        rows = folded.index_of(data.users.id_of(users))
        # the last user step saw the items of the iteration before: equal up to convergence
        want = model.user_factors_[users]
        np.testing.assert_allclose(
            folded.state["factors"][rows], want, atol=0.01 * np.abs(want).max()
        )
        np.testing.assert_allclose(folded.state["bias"][rows], model.user_bias_[users], atol=0.01)
    # MAP's fold-in on the same items gives other vectors: the VB one is really used
    other, _ = solvers.explicit_fold_in(
        data.csr()[users], model.global_mean_, model.item_bias_, model.item_factors_,
        model.reg, model.reg_bias, True, reg_exponent=model.reg_exponent,
        reg_offset=model.reg_offset,
    )  # fmt: skip
    assert np.abs(other - model.user_factors_[users]).max() > 0.01


def test_vb_needs_biases_and_leaves_map_unchanged() -> None:
    data = low_rank_ratings(seed=2)
    with pytest.raises(ParamError, match="biased=false needs method='map'"):
        ALS(n_factors=3, n_iterations=2, method="vb", biased=False).fit(data)
    plain = ALS(n_factors=3, n_iterations=3).fit(data)
    assert plain.vb_posterior_ is None
    same = ALS(n_factors=3, n_iterations=3, method="map", vb_user_covariance="diagonal")
    np.testing.assert_array_equal(same.fit(data).user_factors_, plain.user_factors_)


def test_iterations_default_by_method() -> None:
    """n_iterations=None: 15 for map, 40 for vb (which converges more slowly); a given
    number is used for either, and the fit reports that many iterations."""
    assert ALS().iterations == 15 and ALS(method="vb").iterations == 40
    assert ALS(method="vb", n_iterations=7).iterations == 7
    data = low_rank_ratings(seed=3)
    assert len(ALS(n_factors=2, method="vb").fit(data).loss_history_) == 40
    assert len(ALS(n_factors=2).fit(data).loss_history_) == 15


def test_explicit_cg_training_tracks_cholesky() -> None:
    data = low_rank_ratings(seed=10)
    chol = ALS(n_factors=4, n_iterations=10, solver="cholesky").fit(data)
    cg = ALS(n_factors=4, n_iterations=10, solver="cg", cg_steps=5).fit(data)
    assert cg.loss_history_[-1] == pytest.approx(chol.loss_history_[-1], rel=2e-3)
    u, i = data.user[:50], data.item[:50]
    np.testing.assert_allclose(cg.predict(u, i), chol.predict(u, i), atol=0.02)


def test_one_interaction_users_stay_solvable() -> None:
    # every user has exactly one interaction: rank-one Gram matrices, reg keeps them solvable
    users = [f"u{k}" for k in range(40)]
    items = [f"i{k % 7}" for k in range(40)]
    values = np.arange(40) % 5 + 1.0
    data = Interactions.from_arrays(users, items, values, rating_scale=(1, 5))
    for model in (
        ALS(n_factors=10, n_iterations=3),
        ALS(n_factors=10, n_iterations=3, solver="cholesky"),
        ImplicitALS(n_factors=10, n_iterations=3, solver="cholesky"),
        ImplicitALS(n_factors=10, n_iterations=3),
    ):
        model.fit(data)
        assert np.isfinite(model.user_factors_).all() and np.abs(model.user_factors_).sum() > 0
        folded = model.fold_in(data.subset(np.arange(3)))
        assert np.isfinite(folded.state["factors"]).all()


def test_all_zero_history_folds_in_as_a_cold_user() -> None:
    data = low_rank_ratings(kind="implicit")
    model = ImplicitALS(n_factors=4, n_iterations=3).fit(data)
    zeros = Interactions.from_arrays(["new", "new"], data.items.id_of([0, 1]), [0.0, 0.0],
                                     kind="implicit")
    folded = model.fold_in(zeros)
    assert np.all(folded.state["factors"] == 0)
    items, scores = model.recommend(folded, k=3)
    assert (items >= 0).all() and np.all(scores == 0)


def test_binarize_threshold_drops_low_ratings() -> None:
    data = low_rank_ratings()
    low = data.value < 4
    model = ImplicitALS(n_factors=4, n_iterations=4, binarize=4).fit(data)
    other = ImplicitALS(n_factors=4, n_iterations=4).fit(
        data.subset(~low)._replace(value=np.ones(int((~low).sum())))
    )
    np.testing.assert_allclose(model.item_factors_, other.item_factors_, rtol=1e-4, atol=1e-5)
    with pytest.raises(DataError, match="binarize"):
        ImplicitALS(binarize=100).fit(data)


def test_negative_values_refused_for_implicit() -> None:
    data = Interactions.from_arrays(["a", "b"], ["x", "y"], [1.0, -2.0], rating_scale=(-5, 5))
    with pytest.raises(DataError, match=">= 0.*binarize"):
        ImplicitALS().fit(data)
    assert ImplicitALS(n_factors=2, n_iterations=1, binarize=0).fit(data).is_fitted


def test_progress_and_loss_per_iteration() -> None:
    seen: list[EpochInfo] = []
    model = ImplicitALS(n_factors=4, n_iterations=5).fit(
        low_rank_ratings(kind="implicit"), callback=seen.append
    )
    assert [e.epoch for e in seen] == [1, 2, 3, 4, 5] and seen[0].n_epochs == 5
    losses = [e.loss for e in seen]
    assert all(b <= a * (1 + 1e-4) for a, b in zip(losses, losses[1:], strict=False))
    np.testing.assert_allclose(model.loss_history_, losses)
    explicit: list[EpochInfo] = []
    ALS(n_factors=4, n_iterations=4).fit(low_rank_ratings(), callback=explicit.append)
    assert len(explicit) == 4 and explicit[-1].loss < explicit[0].loss


def test_loss_matches_a_dense_computation() -> None:
    dense = small_matrix(9)
    conf = solvers.with_confidence(solvers.clean_csr(sp.csr_matrix(dense)), 1.5, "linear", 1)
    rng = np.random.default_rng(2)
    X = rng.normal(0, 0.3, (dense.shape[0], 3)).astype(np.float32)
    Y = rng.normal(0, 0.3, (dense.shape[1], 3)).astype(np.float32)
    C = np.where(dense > 0, 1 + 1.5 * dense, 1.0)
    P = (dense > 0).astype(float)
    E = P - X.astype(float) @ Y.T
    want = (np.sum(C * E * E) + 0.1 * (np.sum(X**2) + np.sum(Y**2))) / dense.size
    assert solvers.implicit_loss(conf, X, Y, 0.1) == pytest.approx(want, rel=1e-5)


def test_nan_in_factors_stops_with_the_iteration() -> None:
    data = low_rank_ratings(kind="implicit")
    data = data._replace(value=np.where(np.arange(len(data)) == 3, np.inf, data.value))
    with pytest.raises(TrainingDiverged, match="iteration 1.*alpha"):
        ImplicitALS(n_factors=3, n_iterations=3).fit(data)
    ratings = low_rank_ratings()
    ratings = ratings._replace(value=np.where(np.arange(len(ratings)) == 0, np.inf, ratings.value))
    with pytest.raises(TrainingDiverged, match="iteration"):
        ALS(n_factors=3, n_iterations=3).fit(ratings)


def test_parameters_are_validated() -> None:
    with pytest.raises(ParamError):
        ALS(reg=0)
    with pytest.raises(ParamError):
        ImplicitALS(solver="lu")
    with pytest.raises(ParamError):
        ImplicitALS(confidence="sqrt")


def test_threads_parameter_limits_numba_and_blas() -> None:
    import numba
    from threadpoolctl import threadpool_info

    from workbench.threads import limited_threads

    before = numba.get_num_threads()
    with limited_threads(1):
        assert numba.get_num_threads() == 1
    with limited_threads(2) as n:
        assert numba.get_num_threads() == n == min(2, numba.config.NUMBA_NUM_THREADS)
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
    assert numba.get_num_threads() == before
    a = ImplicitALS(n_factors=4, n_iterations=3, n_threads=1).fit(low_rank_ratings())
    b = ImplicitALS(n_factors=4, n_iterations=3).fit(low_rank_ratings())
    np.testing.assert_allclose(a.user_factors_, b.user_factors_, rtol=1e-4, atol=1e-5)


def test_implicit_model_hides_rating_metrics_in_evaluation() -> None:
    from workbench.evaluation import evaluate
    from workbench.experiments.resolve import resolve_metrics
    from workbench.splits import Split
    from workbench.testing import holdout

    data = low_rank_ratings()
    train, test = holdout(data)
    metrics = resolve_metrics(["rmse", "ndcg@5"], train)
    model = ImplicitALS(n_factors=4, n_iterations=4).fit(train)
    result = evaluate(model, Split(train=train, test=test, fold=0), metrics)
    assert np.isnan(result.scores["rmse"]) and np.isfinite(result.scores["ndcg@5"])
    assert not model.predicts_ratings() and ALS().predicts_ratings()


def anchor_splits(data_dir, n_folds: int = 2):
    """The first ``n_folds`` ML-100k anchor folds (ANCHORS.md) as workbench splits."""
    import pandas as pd

    from workbench.splits import Split

    root = data_dir / "ml-100k"
    frame = pd.read_csv(root / "u.data", sep="\t", names=["user", "item", "rating", "ts"])
    folds = np.load(root / "anchor_folds.npy", allow_pickle=False)
    data = Interactions.from_pandas(frame, value="rating", rating_scale=(1, 5), name="ml-100k")
    return [
        Split(train=data.subset(folds != f), test=data.subset(folds == f), fold=int(f))
        for f in range(n_folds)
    ]


@pytest.mark.realdata
def test_defaults_reach_the_targets_on_the_anchor_folds(real_data_dir) -> None:
    from workbench.evaluation import evaluate
    from workbench.experiments.resolve import resolve_metrics

    splits = anchor_splits(real_data_dir)
    metrics = resolve_metrics(["rmse", "ndcg@10"], splits[0].train)
    rmse = np.mean([evaluate(ALS().fit(s.train), s, metrics).scores["rmse"] for s in splits])
    ndcg = np.mean(
        [evaluate(ImplicitALS().fit(s.train), s, metrics).scores["ndcg@10"] for s in splits]
    )
    assert rmse <= 0.915, f"als defaults: RMSE {rmse:.4f} on 2 anchor folds"
    vb = ALS(method="vb", n_iterations=40)
    rmse_vb = np.mean([evaluate(vb.fit(s.train), s, metrics).scores["rmse"] for s in splits])
    assert rmse_vb <= 0.905, f"als method=vb: RMSE {rmse_vb:.4f} on 2 anchor folds"
    assert ndcg >= 0.34, f"ials defaults: nDCG@10 {ndcg:.4f} on 2 anchor folds"
