"""Embedding models: a factor vector per user and per item, biases optional.

::

    Model ─┬─ EmbeddingModel            p_u · q_i  (+ mu + b_u + b_i when has_biases())
           │    ├─ RatingFactorModel    explicit ratings, biased, ridge (ALS) fold-in
           │    │                       (alias FactorModel)       — sgd, svdpp, kernel-mf, als
           │    └─ RankingFactorModel   implicit feedback, ranking scores,
           │                            confidence-weighted fold-in — als (implicit), nmf, bpr
           └─ any other model           item-knn, popularity, biases, ...

`EmbeddingModel` scores through its declared ``scorer`` (`workbench.factor.scoring`: the dot
product by default), and implements the cold-start
fallback (zero factors and biases for users/items without training data), `update_users`
storage (`_set_user_rows`), item embeddings and the saved arrays. A subclass sets the learned
arrays in `_fit` and picks a fold-in: the kinds below bring one from `workbench.factor.fold_in`;
a gradient-trained model overrides `_fold_in`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from workbench.capabilities import Capabilities, ColdStart
from workbench.factor.fold_in import confidence_fold_in, ridge_fold_in
from workbench.factor.scoring import DotScorer, Scorer
from workbench.model import Model, _reads_capabilities, concurrent_score
from workbench.user_state import UserState, grow_rows


class EmbeddingModel(Model):
    """User factors ``user_factors_`` (n_users x f) and item factors ``item_factors_``
    (n_items x f); score ``p_u · q_i``, plus ``mu + b_u + b_i`` when `has_biases`."""

    #: How state and item vectors become scores (`workbench.factor.scoring`); a family that
    #: scores differently declares its own scorer instead of overriding the scoring hooks.
    scorer: ClassVar[Scorer] = DotScorer()
    capabilities = Capabilities(
        cold_start=ColdStart(
            user="zero factors: score 0 for every item (ties ranked in the protocol's order)",
            item="zero factors: score 0",
        ),
        similar_items=True,
    )

    @_reads_capabilities
    def has_biases(self) -> bool:
        """Whether scores include ``mu + b_u + b_i`` (the declared ``biased``)."""
        return self.declared().biased

    # -- cold start ---------------------------------------------------------------------------
    def _after_fit(self) -> None:
        cold_users = self.user_counts_ == 0
        cold_items = self.item_counts_ == 0
        self.user_factors_[cold_users] = 0.0
        self.item_factors_[cold_items] = 0.0
        if self.has_biases():
            self.user_bias_[cold_users] = 0.0
            self.item_bias_[cold_items] = 0.0

    # -- scoring: through the declared scorer ---------------------------------------------------
    def _user_state(self, users: np.ndarray) -> UserState:
        return self.scorer.user_state(self, users)

    @concurrent_score
    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        return self.scorer.block(self, state, items)

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        return self.scorer.pairs(self, state, items)

    # -- new users ----------------------------------------------------------------------------
    def _set_user_rows(self, rows: np.ndarray, state: UserState, n_users: int) -> None:
        self.user_factors_ = grow_rows(self.user_factors_, n_users)
        self.user_factors_[rows] = state["factors"]
        if self.has_biases():
            self.user_bias_ = grow_rows(self.user_bias_, n_users)
            self.user_bias_[rows] = state["bias"]

    def item_embeddings(self) -> np.ndarray:
        return self.item_factors_

    # -- files --------------------------------------------------------------------------------
    def _state_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"user_factors": self.user_factors_, "item_factors": self.item_factors_}
        if self.has_biases() or self.scorer.uses_mean:
            arrays["global_mean"] = np.asarray(self.global_mean_, dtype=np.float64)
        if self.has_biases():
            arrays["user_bias"] = self.user_bias_
            arrays["item_bias"] = self.item_bias_
        return arrays

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.user_factors_ = np.asarray(arrays["user_factors"])
        self.item_factors_ = np.asarray(arrays["item_factors"])
        if self.has_biases():
            self.global_mean_ = float(arrays["global_mean"])
            self.user_bias_ = np.asarray(arrays["user_bias"])
            self.item_bias_ = np.asarray(arrays["item_bias"])
        elif self.scorer.uses_mean:  # files of a model without a mean (then 0) load too
            self.global_mean_ = float(arrays.get("global_mean", 0.0))


class RatingFactorModel(EmbeddingModel):
    """Biased MF of explicit ratings, ``mu + b_u + b_i + p_u · q_i``.

    Fold-in: the regularised least-squares half-step of ALS with items frozen
    (`workbench.factor.fold_in.ridge_fold_in`, regularisation ``fold_in_reg`` times the user's
    number of ratings); gradient-trained models may override `_fold_in`.
    """

    capabilities = Capabilities(
        feedback=frozenset({"explicit"}),
        predicts="ratings",
        cold_start=ColdStart(
            user="mu + b_i (the item baseline: zero factors and bias)",
            item="mu + b_u (zero factors and bias); both cold: mu",
        ),
        fold_in="ridge",
        update_users=True,
        similar_items=True,
        biased=True,
    )
    #: L2 regularisation of the closed-form fold-in (times the user's number of ratings).
    fold_in_reg: ClassVar[float] = 0.1

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        factors, bias = ridge_fold_in(
            history,
            self.item_factors_,
            reg=self.fold_in_reg,
            global_mean=self.global_mean_,
            item_bias=self.item_bias_,
        )
        return UserState.of(factors=factors, bias=bias)


#: The v1 name of `RatingFactorModel` (third-party plugins written against it keep working).
FactorModel = RatingFactorModel


class RankingFactorModel(EmbeddingModel):
    """MF for top-N from implicit feedback (or explicit data used as implicit): unbiased
    ``p_u · q_i`` scores that only order items.

    Fold-in: the confidence-weighted least-squares half-step of implicit ALS with items
    frozen (`workbench.factor.fold_in.confidence_fold_in`), with the settings of
    `fold_in_settings` (a subclass maps its parameters there).
    """

    capabilities = EmbeddingModel.capabilities.replace(
        predicts="scores", fold_in="confidence", update_users=True
    )

    def fold_in_settings(self) -> dict[str, Any]:
        """``reg``, ``alpha``, ``kind`` (linear/log) and ``eps`` of the confidence fold-in;
        by default read from parameters of those names (``reg``, ``alpha``,
        ``confidence``, ``eps``) where the model has them."""
        p = self.get_params()
        kind: Literal["linear", "log"] = p.get("confidence", "linear")
        return {
            "reg": float(p.get("reg", 0.01)),
            "alpha": float(p.get("alpha", 1.0)),
            "kind": kind,
            "eps": float(p.get("eps", 1.0)),
        }

    def fold_in_values(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """The interaction strengths used by fold-in (a subclass that binarises or rescales
        its training data applies the same map here)."""
        return history

    def fold_in_regularisation(self, values: sp.csr_matrix, reg: float) -> float | np.ndarray:
        """The regularisation of each new user's solve (``values``: `fold_in_values` of the
        histories); by default ``reg`` for all. A model that scales it by each user's
        activity in training (frequency-scaled, Rendle et al. 2022) scales it here alike."""
        return reg

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        values = self.fold_in_values(history)
        settings = self.fold_in_settings()
        settings["reg"] = self.fold_in_regularisation(values, settings["reg"])
        return UserState.of(factors=confidence_fold_in(values, self.item_factors_, **settings))
