"""`ModelContract`: the model contract as a test suite, with the small data helpers it uses
(`low_rank_ratings`, `holdout`); re-exported by `workbench.testing`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

try:
    import pytest
except ModuleNotFoundError:  # the data helpers work without it; the suite runs on pytest
    import workbench.testing._no_pytest as pytest  # type: ignore[no-redef]

from workbench.capabilities import Capabilities
from workbench.data import Interactions
from workbench.errors import NotFittedError, ParamError, WorkbenchError
from workbench.model import FoldedUsers, Model


def low_rank_ratings(
    n_users: int = 80,
    n_items: int = 60,
    density: float = 0.3,
    rank: int = 3,
    seed: int = 0,
    kind: str = "explicit",
) -> Interactions:
    """Small ratings with a low-rank structure plus biases and noise (1..5 scale)."""
    rng = np.random.default_rng(seed)
    p = rng.normal(0, 0.8, (n_users, rank))
    q = rng.normal(0, 0.8, (n_items, rank))
    bu = rng.normal(0, 0.4, n_users)
    bi = rng.normal(0, 0.5, n_items)
    mask = rng.random((n_users, n_items)) < density
    mask[np.arange(n_users), rng.integers(0, n_items, n_users)] = True  # every user rates
    mask[rng.integers(0, n_users, n_items), np.arange(n_items)] = True  # every item rated
    u, i = np.nonzero(mask)
    signal = 3.5 + bu[u] + bi[i] + np.einsum("ij,ij->i", p[u], q[i]) + rng.normal(0, 0.3, len(u))
    if kind == "implicit":
        keep = signal > 3.5
        u, i = u[keep], i[keep]
        values = np.ceil(np.exp(signal[keep] - 3.0))
        return Interactions.from_arrays(
            [f"u{x}" for x in u], [f"i{x}" for x in i], values, kind="implicit", name="low-rank"
        )
    ratings = np.clip(np.round(signal), 1, 5)
    return Interactions.from_arrays(
        [f"u{x}" for x in u],
        [f"i{x}" for x in i],
        ratings,
        rating_scale=(1, 5),
        name="low-rank",
    )


def holdout(data: Interactions, fraction: float = 0.2, seed: int = 0):
    """A random train/test pair sharing the id space."""
    rng = np.random.default_rng(seed)
    test = rng.random(len(data)) < fraction
    return data.subset(~test), data.subset(test)


class ModelContract:
    """Inherit in a test class and implement `make_model`."""

    #: Whether the model must beat the global mean on held-out low-rank ratings.
    learns: bool = True
    #: Whether two fits with different seeds may differ (stochastic training).
    seeded: bool = True

    # -- to override ------------------------------------------------------------------------------
    def make_model(self, **params: Any) -> Model:
        raise NotImplementedError  # abstractmethod: the plugin's test class provides it

    def make_data(self) -> Interactions:
        return low_rank_ratings()

    # -- helpers --------------------------------------------------------------------------------
    @pytest.fixture
    def data(self) -> Interactions:
        return self.make_data()

    @pytest.fixture
    def fitted(self, data: Interactions) -> Model:
        return self.make_model().fit(data)

    def _skip_without_fold_in(self, model: Model) -> None:
        if model.declared().fold_in is None:
            pytest.skip(f"{model.owner()} declares no fold-in strategy")

    def _skip_without_update_users(self, model: Model) -> None:
        if not model.declared().update_users:
            pytest.skip(f"{model.owner()} does not declare update_users")

    def _pairs(self, data: Interactions, n: int = 50) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(1)
        return (
            rng.integers(0, data.n_users, n).astype(np.int64),
            rng.integers(0, data.n_items, n).astype(np.int64),
        )

    # -- the contract ------------------------------------------------------------------------
    def test_fit_returns_self(self, data: Interactions) -> None:
        model = self.make_model()
        assert model.fit(data) is model
        assert model.is_fitted
        assert model.n_users_ == data.n_users and model.n_items_ == data.n_items

    def test_not_fitted_error(self, data: Interactions) -> None:
        model = self.make_model()
        with pytest.raises(NotFittedError):
            model.predict([0], [0])
        with pytest.raises(NotFittedError):
            model.recommend([0], k=3)

    def test_empty_train_is_an_error(self, data: Interactions) -> None:
        from workbench.errors import DataError

        with pytest.raises(DataError):
            self.make_model().fit(data.subset(np.zeros(len(data), dtype=bool)))

    def test_params_round_trip_and_clone(self) -> None:
        model = self.make_model()
        params = model.get_params()
        again = type(model)(**params)
        assert again.get_params() == params
        twin = model.clone()
        assert twin is not model and twin.get_params() == params and not twin.is_fitted
        with pytest.raises(ParamError):
            type(model)(**params, no_such_parameter_xyz=1)
        with pytest.raises(ParamError):
            model.set_params(no_such_parameter_xyz=1)

    def test_refit_starts_over(self, data: Interactions) -> None:
        other = low_rank_ratings(seed=7, kind=data.kind)
        model = self.make_model().fit(other).fit(data)
        fresh = self.make_model().fit(data)
        u, i = self._pairs(data)
        np.testing.assert_allclose(model.predict(u, i), fresh.predict(u, i), rtol=1e-5, atol=1e-5)
        assert model.n_users_ == data.n_users

    def test_same_seed_same_result(self, data: Interactions) -> None:
        u, i = self._pairs(data)
        a = self.make_model(seed=3).fit(data).predict(u, i)
        b = self.make_model(seed=3).fit(data).predict(u, i)
        np.testing.assert_array_equal(a, b)

    def test_save_load_identical_predictions(
        self, fitted: Model, data: Interactions, tmp_path: Path
    ) -> None:
        path = fitted.save(tmp_path / "model.npz")
        loaded = type(fitted).load(path)
        assert loaded.get_params() == fitted.get_params()
        u, i = self._pairs(data)
        np.testing.assert_array_equal(loaded.predict(u, i), fitted.predict(u, i))
        users = np.arange(min(10, data.n_users))
        a_items, a_scores = fitted.recommend(users, k=5)
        b_items, b_scores = loaded.recommend(users, k=5)
        np.testing.assert_array_equal(a_items, b_items)
        np.testing.assert_array_equal(a_scores, b_scores)

    def test_predict_finite_and_shaped(self, fitted: Model, data: Interactions) -> None:
        u, i = self._pairs(data)
        scores = fitted.predict(u, i)
        assert scores.shape == (len(u),) and scores.dtype == np.float32
        assert np.isfinite(scores).all()

    def test_cold_and_unknown_users_and_items(self, data: Interactions) -> None:
        rows = np.flatnonzero(data.user != 0)
        model = self.make_model().fit(data.subset(rows))  # user 0 is cold
        scores = model.predict([0, -1, data.n_users + 5, 1], [0, 1, 2, -1])
        assert np.isfinite(scores).all()
        items, item_scores = model.recommend([0], k=5)
        assert (items >= 0).all() and np.isfinite(item_scores).all()

    def test_recommend_shapes_ordering_exclude_seen(
        self, fitted: Model, data: Interactions
    ) -> None:
        users = np.arange(min(20, data.n_users))
        k = 7
        items, scores = fitted.recommend(users, k=k)
        assert items.shape == (len(users), k) and scores.shape == (len(users), k)
        seen = data.csr()
        for row, user in enumerate(users):
            valid = items[row] >= 0
            assert np.all(np.diff(scores[row][valid]) <= 1e-6), "scores must be descending"
            assert not set(items[row][valid]) & set(seen[user].indices), "seen items returned"
            assert len(set(items[row][valid])) == valid.sum(), "duplicate items"
        # scores agree with predict
        flat_u = np.repeat(users, k)
        flat_i = items.ravel()
        ok = flat_i >= 0
        np.testing.assert_allclose(
            fitted.predict(flat_u[ok], flat_i[ok]), scores.ravel()[ok], rtol=1e-4, atol=1e-4
        )
        # including seen items can only raise the best score
        with_seen, with_scores = fitted.recommend(users, k=k, exclude_seen=False)
        assert np.all(with_scores[:, 0] >= scores[:, 0] - 1e-6)

    def test_recommend_pads_short_lists_and_restricts_candidates(
        self, fitted: Model, data: Interactions
    ) -> None:
        candidates = np.array([0, 1, 2])
        items, scores = fitted.recommend([0, 1], k=5, items=candidates, exclude_seen=False)
        assert set(items[:, :3].ravel()) <= set(candidates)
        assert (items[:, 3:] == -1).all() and np.isnan(scores[:, 3:]).all()
        everything, _ = fitted.recommend([0], k=data.n_items + 3)
        n_seen = data.csr()[0].nnz
        assert (everything[0] >= 0).sum() == data.n_items - n_seen

    def test_declares_contract(self, fitted: Model) -> None:
        caps = fitted.declared()
        assert isinstance(caps, Capabilities)
        assert caps.cold_start is not None, (
            "declare capabilities = Capabilities(cold_start=ColdStart(user=..., item=...))"
        )
        assert caps.cold_start.describe()
        assert isinstance(fitted.predicts_ratings(), bool)
        assert fitted.predicts_ratings() == (caps.predicts == "ratings")
        assert isinstance(fitted.can_fork(), bool) and fitted.can_fork() == caps.fork_safe
        assert caps.feedback and caps.feedback <= {"explicit", "implicit"}
        assert fitted.supports_fold_in() == (type(fitted).capabilities.fold_in is not None)
        if not caps.update_users:  # not declared: refused with one line, nothing changed
            with pytest.raises(WorkbenchError, match="update_users"):
                fitted.update_users(low_rank_ratings(seed=5, kind=fitted.feedback_))

    def test_parameter_attributes_update_parameters(self) -> None:
        model = self.make_model()
        params = model.get_params()
        if not params:
            pytest.skip("the model has no parameters")
        key, value = next(iter(params.items()))
        setattr(model, key, value)
        assert model.get_params() == params
        with pytest.raises(ParamError):
            model.set_params(**{key: object()})

    def test_rank_blocks_agree_with_recommend(self, fitted: Model, data: Interactions) -> None:
        users = np.arange(min(25, data.n_users))
        items, scores = fitted.recommend(users, k=6)
        blocks = list(fitted.rank_blocks(users, 6, batch_size=7))
        assert [b.rows.start for b in blocks] == list(range(0, len(users), 7))
        np.testing.assert_array_equal(np.vstack([b.items for b in blocks]), items)
        n_cand = np.concatenate([b.n_candidates for b in blocks])
        n_seen = np.diff(data.csr().indptr)[users]
        assert (n_cand <= data.n_items - n_seen).all()

    def test_update_users_matches_fold_in(self, data: Interactions) -> None:
        counts = data.user_counts()
        target = int(np.argmax(counts))
        model = self.make_model().fit(data.subset(data.user != target))
        self._skip_without_update_users(model)
        history = data.subset(data.user == target)
        folded = model.fold_in(history)
        expected = model.predict(folded, [0])
        n_before = model.n_users_
        assert model.update_users(history) is model
        assert model.n_users_ == n_before  # the user's id was known (cold): refreshed in place
        row = model.users_.index_of(history.users.id_of([target]))[0]
        got = model.predict([row], [0])
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
        items, _ = model.recommend([row], k=5)
        assert not set(items[0][items[0] >= 0]) & set(history.item), "history items returned"
        assert model.user_counts_[row] == len(np.unique(history.item))
        # a user id the model has never seen is appended
        frame = history.to_pandas()
        ids = data.users.ids
        frame["user"] = "new-user" if ids.dtype.kind in "OUS" else int(np.max(ids)) + 1000
        new = Interactions.from_pandas(
            frame, value="value", kind=data.kind, rating_scale=data.rating_scale
        )
        model.update_users(new)
        assert model.n_users_ == n_before + 1 and len(model.users_) == n_before + 1
        np.testing.assert_allclose(model.predict([n_before], [0]), expected, rtol=1e-5, atol=1e-5)

    def test_fold_in_new_user(self, data: Interactions) -> None:
        counts = data.user_counts()
        target = int(np.argmax(counts))
        model = self.make_model().fit(data.subset(data.user != target))
        self._skip_without_fold_in(model)
        history = data.subset(data.user == target)
        folded = model.fold_in(history)
        assert isinstance(folded, FoldedUsers) and len(folded) == 1
        assert folded.ids[0] == data.users.id_of([target])[0]
        items, scores = model.recommend(folded, k=5)
        assert items.shape == (1, 5)
        assert not set(items[0][items[0] >= 0]) & set(history.item), "history items returned"
        preds = model.predict(folded, history.item[:1])
        assert np.isfinite(preds).all()
        if self.learns and data.is_explicit and model.predicts_ratings():
            rows = np.zeros(len(history), dtype=np.int64)
            fold_pred = model.predict((folded, rows), history.item)
            err = np.sqrt(np.mean((fold_pred - history.value) ** 2))
            base = np.sqrt(
                np.mean((history.value - model.predict([-1] * len(history), history.item)) ** 2)
            )
            assert err <= base + 1e-6, f"fold-in does not fit the user's history ({err} > {base})"

    def test_learns_better_than_global_mean(self, data: Interactions) -> None:
        if not self.learns or not data.is_explicit or not self.make_model().predicts_ratings():
            pytest.skip("model is not expected to predict ratings")
        train, test = holdout(data)
        model = self.make_model().fit(train)
        pred = np.clip(model.predict(test.user, test.item), 1, 5)
        rmse = np.sqrt(np.mean((pred - test.value) ** 2))
        base = np.sqrt(np.mean((test.value - train.value.mean()) ** 2))
        assert rmse < base, f"RMSE {rmse:.3f} is not better than the global mean {base:.3f}"
