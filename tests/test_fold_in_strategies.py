"""Fold-in is a declared strategy backed by one implementation of each solver; one helper
grows per-user rows; one place checks gradient fold-in options."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from workbench_als import solvers
from workbench_als.models import ImplicitALS

from workbench.data import Interactions
from workbench.errors import ParamError
from workbench.factor.embedding import RankingFactorModel
from workbench.factor.fold_in import confidence, confidence_fold_in, gradient_options
from workbench.testing import low_rank_ratings
from workbench.user_state import grow_rows


def test_implicit_als_folds_in_through_the_ranking_kind_and_the_one_solver() -> None:
    assert "_fold_in" not in vars(ImplicitALS)  # no copy of the Hu-Koren-Volinsky solve
    assert ImplicitALS._fold_in is RankingFactorModel._fold_in
    assert ImplicitALS.capabilities.fold_in == "confidence"
    assert not hasattr(solvers, "implicit_fold_in")
    data = low_rank_ratings(kind="implicit", seed=2)
    model = ImplicitALS(n_factors=4, n_iterations=3, alpha=3.0, reg=0.5, binarize=2.0,
                        confidence="log", eps=2.0, reg_exponent=0).fit(data)
    history = data.subset(data.user < 5)
    got = model.fold_in(history).state["factors"]
    raw = solvers.clean_csr(history.csr()[:5], binarize=2.0)  # fold_in_values: as trained on
    want = confidence_fold_in(raw, model.item_factors_, reg=0.5, alpha=3.0, kind="log", eps=2.0)
    np.testing.assert_array_equal(got, want)


def test_per_user_regularisation_equals_one_solve_per_user() -> None:
    rng = np.random.default_rng(0)
    history = sp.random(12, 30, density=0.2, random_state=1, format="csr", dtype=np.float32)
    history.data = np.ceil(history.data * 5)
    y = rng.normal(0, 0.5, (30, 4)).astype(np.float32)
    counts = np.diff(history.indptr)
    together = confidence_fold_in(history, y, reg=0.1 * counts, alpha=2.0)
    for r in range(12):
        alone = confidence_fold_in(history[r], y, reg=0.1 * counts[r], alpha=2.0)
        np.testing.assert_array_equal(together[r], alone[0])  # Spark's count-scaled reg


def test_one_confidence_in_the_training_and_the_fold_in_precision() -> None:
    values = np.array([0.0, 1.0, 2.5, 40.0], dtype=np.float32)
    linear32 = confidence(values, 1.7, dtype=np.float32)
    assert linear32.dtype == np.float32
    np.testing.assert_array_equal(linear32, (1.0 + 1.7 * values).astype(np.float32))
    np.testing.assert_array_equal(solvers.confidence(values, 1.7, "log", 0.5),
                                  confidence(values, 1.7, "log", 0.5, dtype=np.float32))
    np.testing.assert_allclose(confidence(values, 2.0, "log", 0.5), 1 + 2 * np.log1p(values / 0.5))
    with pytest.raises(ParamError, match="'linear' or 'log'"):
        confidence(values, 1.0, "square")  # type: ignore[arg-type]


def test_gradient_fold_in_options_are_checked_in_one_place() -> None:
    from workbench_sgd.biased import BiasedMF

    assert "_check_fold_in_options" not in vars(BiasedMF)
    data = low_rank_ratings()
    model = BiasedMF(n_epochs=2).fit(data)
    history = data.subset(data.user == 0)
    with pytest.raises(ParamError, match="fold-in n_epochs must be an integer >= 1, got 0"):
        model.fold_in(history, n_epochs=0)
    with pytest.raises(ParamError, match="unknown fold-in option 'epochs'"):
        model.fold_in(history, epochs=3)
    assert gradient_options({"n_epochs": 3, "lr": None}, "m") == {"n_epochs": 3}
    with pytest.raises(ParamError, match="fold-in lr must be a number > 0"):
        gradient_options({"lr": -1.0}, "m")


def test_grow_rows_appends_zero_rows_of_the_same_dtype() -> None:
    a = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert grow_rows(a, 3) is a and grow_rows(a, 2) is a
    grown = grow_rows(a, 5)
    assert grown.dtype == np.float32 and grown.shape == (5, 2)
    np.testing.assert_array_equal(grown[:3], a)
    assert not grown[3:].any()
    assert grow_rows(np.array([True]), 3).tolist() == [True, False, False]


def test_training_state_stays_in_the_context_not_on_the_fitted_model(monkeypatch) -> None:
    from workbench_sgd.timesvdpp import HybridSVDpp, TimeSVDpp

    seen: list[set[str]] = []
    finish = HybridSVDpp._finish_training

    def spy(self: HybridSVDpp, context: object) -> None:
        seen.append(set(vars(self)))  # the model while the cold rows are set
        finish(self, context)

    monkeypatch.setattr(HybridSVDpp, "_finish_training", spy)
    data = low_rank_ratings()
    stamped = Interactions.from_arrays(
        data.users.id_of(data.user), data.items.id_of(data.item), data.value,
        timestamps=np.arange(len(data)) * 3600 * 24, rating_scale=(1, 5),
    )
    model = TimeSVDpp(n_epochs=2, n_factors=3).fit(stamped)
    assert len(seen) == 1 and not [k for k in seen[0] if "cold" in k]
    assert model.is_fitted and not [k for k in vars(model) if "cold" in k]


def test_observed_nmf_is_an_unbiased_embedding_model() -> None:
    from workbench_nmf.models import ObservedNMF

    from workbench.factor.embedding import EmbeddingModel, RatingFactorModel

    assert issubclass(ObservedNMF, EmbeddingModel)
    assert not issubclass(ObservedNMF, RatingFactorModel)  # no biases switched off
    model = ObservedNMF(n_epochs=2).fit(low_rank_ratings())
    assert not model.has_biases() and model.declared().fold_in == "nonnegative"
