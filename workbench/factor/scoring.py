"""How an embedding model turns user state and item vectors into scores: a declared scorer.

An `EmbeddingModel` scores through its class's ``scorer`` (composition, not overrides of
``_user_state``/``_score``/``_score_pairs``):

- `DotScorer` — ``p_u · q_i``, plus ``mu + b_u + b_i`` when the model declares ``biased``;
  ``DotScorer(centered=True)`` adds only the model's ``global_mean_`` (a model fitted on
  centred ratings without biases, e.g. Spark's ALS).
- `ColdMeanScorer` — the dot product where both sides have training data, the model's
  ``global_mean_`` otherwise (NMF of observed ratings, as Surprise).

Model plugins add their own (`workbench_sgd.kernel_mf.KernelScorer`: a kernel of ``p_u`` and
``q_i``). Each method reads the model's fitted arrays and returns float32 scores: ``block``
scores every state row against ``items`` (n_rows x len(items)), ``pairs`` row r against
``items[r]`` (``-1``: an unknown item, scored with zero item parameters).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from workbench.user_state import UserState

#: The model a scorer reads (an `workbench.factor.embedding.EmbeddingModel`; not imported here,
#: which imports this module).
EmbeddingModel = Any


class Scorer(Protocol):
    """What an embedding model's ``scorer`` provides (any object with these methods)."""

    #: The scores read the model's ``global_mean_`` without biases (it is then saved).
    uses_mean: bool

    def user_state(self, model: EmbeddingModel, users: np.ndarray) -> UserState: ...

    def block(self, model: EmbeddingModel, state: UserState, items: np.ndarray) -> np.ndarray: ...

    def pairs(self, model: EmbeddingModel, state: UserState, items: np.ndarray) -> np.ndarray: ...


class DotScorer:
    """``p_u · q_i`` (+ ``mu + b_u + b_i`` when the model declares biases; + ``mu`` only
    when ``centered``)."""

    def __init__(self, *, centered: bool = False) -> None:
        self.centered = centered
        self.uses_mean = centered

    def user_state(self, model: EmbeddingModel, users: np.ndarray) -> UserState:
        """Factors (and bias) of known users by index; ``-1`` gets zeros."""
        inside = users >= 0
        safe = np.where(inside, users, 0)
        factors = (model.user_factors_[safe] * inside[:, None]).astype(np.float32)
        if not model.has_biases():
            return UserState.of(factors=factors)
        bias = (model.user_bias_[safe] * inside).astype(np.float32)
        return UserState.of(factors=factors, bias=bias)

    def block(self, model: EmbeddingModel, state: UserState, items: np.ndarray) -> np.ndarray:
        q = model.item_factors_[items]
        scores = state["factors"] @ q.T
        if model.has_biases():
            scores += state["bias"][:, None]
            scores += (model.item_bias_[items] + model.global_mean_)[None, :]
        elif self.centered:
            scores += np.float32(model.global_mean_)
        return scores

    def pairs(self, model: EmbeddingModel, state: UserState, items: np.ndarray) -> np.ndarray:
        inside = items >= 0
        safe = np.where(inside, items, 0)
        q = model.item_factors_[safe] * inside[:, None]
        dots = np.einsum("ij,ij->i", state["factors"], q)
        if model.has_biases():
            bi = model.item_bias_[safe] * inside
            return dots + state["bias"] + bi + model.global_mean_
        if self.centered:
            return dots + np.float32(model.global_mean_)
        return dots


class ColdMeanScorer(DotScorer):
    """``p_u · q_i`` where the user and the item have training (or fold-in) data, else the
    model's ``global_mean_``; the state carries ``known`` (the user has data) per row."""

    def __init__(self) -> None:
        super().__init__()
        self.uses_mean = True  # the cold fallback: saved with the model

    def user_state(self, model: EmbeddingModel, users: np.ndarray) -> UserState:
        inside = users >= 0
        known = inside & (model.user_counts_[np.where(inside, users, 0)] > 0)
        factors = model.user_factors_[np.where(inside, users, 0)] * known[:, None]
        return UserState.of(factors=factors.astype(np.float32), known=known)

    def block(self, model: EmbeddingModel, state: UserState, items: np.ndarray) -> np.ndarray:
        scores = state["factors"] @ model.item_factors_[items].T
        cold = ~state["known"][:, None] | (model.item_counts_[items] == 0)[None, :]
        return np.where(cold, np.float32(model.global_mean_), scores)

    def pairs(self, model: EmbeddingModel, state: UserState, items: np.ndarray) -> np.ndarray:
        safe = np.where(items >= 0, items, 0)
        dots = np.einsum("ij,ij->i", state["factors"], model.item_factors_[safe])
        cold = ~state["known"] | (items < 0) | (model.item_counts_[safe] == 0)
        return np.where(cold, np.float32(model.global_mean_), dots)
