"""Neighbourhood models for top-N: item-kNN and user-kNN with cosine (with shrinkage),
TF-IDF or BM25 weighting, as `implicit`'s ``CosineRecommender``, ``TFIDFRecommender`` and
``BM25Recommender``.

Similarities are computed in blocks of rows (dense blocks of at most `BLOCK_CELLS` cells)
and only the ``k`` most similar other items (users) of each row are kept, as a CSR matrix:
memory ``O(items * k)`` (item-kNN), never a dense items x items or users x items matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.data import Interactions
from workbench.model import BLOCK_CELLS, Model, TrainingCallback, top_k
from workbench.params import Params
from workbench.user_state import UserState
from workbench_topn.itemitem import ItemItemModel, ItemItemParams, sparse_arrays, sparse_from
from workbench_topn.weights import (
    Weighting,
    check_shrinkage,
    history_matrix,
    interaction_matrix,
    nearest,
    row_norms,
    similarity_block,
    top_k_similarities,
)

Similarity = Literal["cosine", "tfidf", "bm25"]


class KNNParams(Params):
    k: int = Field(100, ge=1, le=100_000, description="neighbours kept per item (user)")
    similarity: Similarity = Field(
        "cosine",
        description="cosine; tfidf: sqrt(x) * idf then cosine; bm25: BM25-weighted dot "
        "products (implicit's weightings)",
    )
    shrinkage: float = Field(
        0.0, ge=0, description="cosine/tfidf: dot / (|a| |b| + shrinkage); 0 for bm25"
    )
    bm25_k1: float = Field(1.2, ge=0, description="BM25 K1 (term saturation)")
    bm25_b: float = Field(0.75, ge=0, le=1, description="BM25 B (length normalisation)")


class ItemKNNParams(KNNParams, ItemItemParams):
    pass


class UserKNNParams(KNNParams, ItemItemParams):
    pass


def _checked_matrix(model: Model, train: Interactions) -> sp.csr_matrix:
    """The training matrix of `ItemKNNTopN` and `UserKNN` (binary or weighted, as their
    ``binary`` says), after the check of their similarity's shrinkage."""
    p = model.params
    check_shrinkage(p.similarity, p.shrinkage, model.owner())
    return interaction_matrix(train, p.binary, model.owner())


class ItemKNNTopN(ItemItemModel):
    """Item-based kNN for top-N: ``score(u, j) = sum_i x_ui s_ij`` over the user's items
    ``i`` whose ``k`` nearest items include ``j`` (implicit's ``ItemItemRecommender``)."""

    name = "itemknn"
    Params = ItemKNNParams
    state_version = 1

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Interactions | None
    ) -> None:
        p = self.params
        x = _checked_matrix(self, train)
        docs = x.T.tocsr()  # items are the documents, users the terms
        weighting = Weighting(p.similarity, p.bm25_k1, p.bm25_b).fit(docs)
        self.weights_ = top_k_similarities(docs, weighting, p.k, p.shrinkage, BLOCK_CELLS)
        self._set_history(x)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {**sparse_arrays("sim", self.weights_), **self._history_arrays()}

    def _set_state_arrays(self, arrays: Mapping[str, Any]) -> None:
        n = self.n_items_
        self.weights_ = sparse_from("sim", arrays, (n, n))
        self._restore_history(arrays)


class UserKNN(Model):
    """User-based kNN for top-N: ``score(u, i) = sum_v s_uv x_vi`` over the ``k`` training
    users ``v`` most similar to ``u`` (the user itself excluded).

    Neighbours are found when a block of users is scored (their weighted histories against
    every training user, in sub-blocks of at most `BLOCK_CELLS` cells), so a folded-in user
    is scored exactly like a training user with the same history."""

    name = "userknn"
    Params = UserKNNParams
    plugin_api = "3.0"
    state_version = 1
    capabilities = ItemItemModel.capabilities

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Interactions | None
    ) -> None:
        p = self.params
        x = _checked_matrix(self, train)
        self.weighting_ = Weighting(p.similarity, p.bm25_k1, p.bm25_b).fit(x)
        pool = self.weighting_.apply(x)
        self.pool_t_ = pool.T.tocsr()  # items x training users
        self.pool_norms_ = row_norms(pool)
        self.pool_values_ = x.astype(np.float32)  # training users x items
        self.queries_ = pool.astype(np.float64)  # each user's weighted history

    # -- users ------------------------------------------------------------------------------
    def _user_state(self, users: np.ndarray) -> UserState:
        users = users.astype(np.int64)
        n_pool = self.pool_values_.shape[0]
        self_index = np.where(users < n_pool, users, -1)
        return UserState(
            {"row": users, "self": self_index}, len(users), shared={"queries": self.queries_}
        )

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        x = history_matrix(history, self.params.binary, self.owner())
        rows = np.arange(x.shape[0], dtype=np.int64)
        return UserState(
            {"row": rows, "self": np.full(len(rows), -1, dtype=np.int64)},
            len(rows),
            shared={"queries": self.weighting_.apply(x)},
        )

    def _set_user_rows(self, rows: np.ndarray, state: UserState, n_users: int) -> None:
        from workbench.model import replace_rows

        folded = state["queries"][state["row"]]
        self.queries_ = replace_rows(self.queries_, rows, folded, n_users)

    # -- scoring ----------------------------------------------------------------------------
    def _neighbours(self, state: UserState) -> sp.csr_matrix:
        """The block's top-k similarities to training users (rows x training users)."""
        p = self.params
        rows, own = state["row"], state["self"]
        inside = rows >= 0
        q = state["queries"][np.where(inside, rows, 0)]
        if not inside.all():
            q = (sp.diags(inside.astype(np.float64)) @ q).tocsr()
        normalised = self.weighting_.normalised
        return nearest(
            q,
            self.pool_t_,
            row_norms(q) if normalised else None,
            self.pool_norms_ if normalised else None,
            p.shrinkage,
            p.k,
            own,
            BLOCK_CELLS,
        )

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        values = self.pool_values_
        if not (len(items) == self.n_items_ and np.array_equal(items, np.arange(self.n_items_))):
            values = values[:, np.asarray(items, dtype=np.int64)]
        return np.asarray((self._neighbours(state) @ values).toarray(), dtype=np.float32)

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        out = np.zeros(len(items), dtype=np.float32)
        step = max(1, BLOCK_CELLS // max(self.n_items_, 1))
        for start in range(0, len(items), step):
            sl = slice(start, start + step)
            block = self._score(state.take(sl), np.arange(self.n_items_))
            it = items[sl]
            inside = it >= 0
            out[sl] = np.where(inside, block[np.arange(len(it)), np.where(inside, it, 0)], 0.0)
        return out

    def similar_items(self, items: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items by the cosine of their weighted columns over the training users (the item
        itself excluded), best first; padded with item -1 / NaN past the non-zero ones."""
        self.check_fitted()
        idx, k = self._similar_items_request(items, k, self.n_items_)
        cols = self.pool_t_
        norms = row_norms(cols)
        sims = similarity_block(cols[idx], cols.T.tocsr(), norms[idx], norms, 0.0)
        sims = sims.astype(np.float32)
        sims[sims == 0] = -np.inf
        sims[np.arange(len(idx)), idx] = -np.inf
        return top_k(sims, np.arange(self.n_items_), k)

    # -- files ------------------------------------------------------------------------------
    def _state_arrays(self) -> dict[str, np.ndarray]:
        w = self.weighting_
        return {
            "idf": w.idf,
            "mean_length": np.asarray(w.mean_length, dtype=np.float64),
            "n_pool": np.asarray(self.pool_values_.shape[0], dtype=np.int64),
            **sparse_arrays("values", self.pool_values_),
            **sparse_arrays("queries", self.queries_),
        }

    def _set_state_arrays(self, arrays: Mapping[str, Any]) -> None:
        p = self.params
        self.weighting_ = Weighting(
            p.similarity,
            p.bm25_k1,
            p.bm25_b,
            np.asarray(arrays["idf"], dtype=np.float64),
            float(arrays["mean_length"]),
        )
        self.queries_ = sparse_from("queries", arrays, (self.n_users_, self.n_items_))
        n_pool = int(arrays["n_pool"])
        self.pool_values_ = sparse_from("values", arrays, (n_pool, self.n_items_)).astype(
            np.float32
        )
        pool = self.weighting_.apply(self.pool_values_.astype(np.float64))
        self.pool_t_ = pool.T.tocsr()
        self.pool_norms_ = row_norms(pool)
