"""Item-item models: a user's score for item j is ``sum_i x_ui W_ij`` over the items of
the user's history (binarised by default), with ``W`` learned once (EASE: dense; item-kNN
and SLIM: sparse, top-k per row).

Fold-in is exact and needs no solve: a new user's history row times ``W``. Scoring goes
block by block (the core's blocks of users): a sparse block of histories times ``W``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.capabilities import Capabilities, ColdStart
from workbench.model import BLOCK_CELLS, Model, replace_rows, top_k
from workbench.params import Params
from workbench.user_state import UserState
from workbench_topn.weights import history_matrix


class ItemItemParams(Params):
    binary: bool = Field(
        True,
        description="true: every training interaction counts 1; false: its value (rating or "
        "count) is the weight",
    )


class ItemItemModel(Model):
    """Scores ``x_u W`` from the user's history ``x_u``; ``W`` is `weights_` (items x items,
    a dense array or a CSR matrix)."""

    plugin_api = "3.0"
    capabilities = Capabilities(
        predicts="scores",
        cold_start=ColdStart(
            user="an empty history: score 0 for every item (ties in the protocol's order)",
            item="never recommended by others' histories: score 0",
        ),
        fold_in="custom",
        update_users=True,
        similar_items=True,
    )
    Params = ItemItemParams

    # -- users ------------------------------------------------------------------------------
    def _set_history(self, x: sp.csr_matrix) -> None:
        self.history_ = x.astype(np.float32)

    def _user_state(self, users: np.ndarray) -> UserState:
        return UserState(
            {"row": users.astype(np.int64)}, len(users), shared={"history": self.history_}
        )

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        x = history_matrix(history, self.params.binary, self.owner()).astype(np.float32)
        rows = np.arange(x.shape[0], dtype=np.int64)
        return UserState({"row": rows}, len(rows), shared={"history": x})

    def _set_user_rows(self, rows: np.ndarray, state: UserState, n_users: int) -> None:
        folded = state["history"][state["row"]]
        self.history_ = replace_rows(self.history_, rows, folded, n_users)

    def _rows(self, state: UserState) -> sp.csr_matrix:
        """The block's histories (a user outside the model: an empty row)."""
        rows = state["row"]
        h = state["history"]
        inside = rows >= 0
        block = h[np.where(inside, rows, 0)]
        if not inside.all():
            keep = sp.diags(inside.astype(np.float32))
            block = keep @ block
        return block.tocsr()

    # -- scoring ----------------------------------------------------------------------------
    def _weights_for(self, items: np.ndarray) -> Any:
        w = self.weights_
        if len(items) == self.n_items_ and np.array_equal(items, np.arange(self.n_items_)):
            return w
        return w[:, items]

    def _product(self, h: sp.csr_matrix, w: Any) -> np.ndarray:
        out = h @ w
        if sp.issparse(out):
            out = out.toarray()
        return np.asarray(out, dtype=np.float32)

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        items = np.asarray(items, dtype=np.int64)
        return self._product(self._rows(state), self._weights_for(items))

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        h = self._rows(state)
        out = np.zeros(len(items), dtype=np.float32)
        step = max(1, BLOCK_CELLS // max(self.n_items_, 1))
        for start in range(0, len(items), step):
            sl = slice(start, start + step)
            block = self._product(h[sl], self.weights_)
            it = items[sl]
            inside = it >= 0
            out[sl] = np.where(inside, block[np.arange(len(it)), np.where(inside, it, 0)], 0.0)
        return out

    # -- similar items ----------------------------------------------------------------------
    def similar_items(self, items: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items with the largest weights ``W_ij`` in item i's row (what item i
        adds to their scores), the item itself excluded, best first; rows with fewer
        non-zero weights are padded with item -1 and score NaN."""
        self.check_fitted()
        idx, k = self._similar_items_request(items, k, self.n_items_)
        w = self.weights_
        rows = w[idx]
        rows = rows.toarray() if sp.issparse(rows) else np.array(rows, dtype=np.float64)
        rows = rows.astype(np.float32)
        if sp.issparse(w):
            rows[rows == 0] = -np.inf  # only stored neighbours
        rows[np.arange(len(idx)), idx] = -np.inf
        return top_k(rows, np.arange(self.n_items_), k)

    # -- files ------------------------------------------------------------------------------
    def _history_arrays(self) -> dict[str, np.ndarray]:
        return {"history_data": self.history_.data}

    def _restore_history(self, arrays: Mapping[str, np.ndarray]) -> None:
        data = np.asarray(arrays["history_data"], dtype=np.float32)
        seen = self.seen_
        if len(data) != seen.nnz:
            raise ValueError("the saved history does not match the seen-items matrix")
        self.history_ = sp.csr_matrix((data, seen.indices, seen.indptr), shape=seen.shape)


def sparse_arrays(prefix: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    """A CSR matrix as three arrays (no pickle)."""
    return {f"{prefix}_indptr": m.indptr, f"{prefix}_indices": m.indices, f"{prefix}_data": m.data}


def sparse_from(prefix: str, arrays: Mapping[str, np.ndarray], shape: tuple[int, int]):
    """The CSR matrix `sparse_arrays` saved."""
    return sp.csr_matrix(
        (
            np.asarray(arrays[f"{prefix}_data"]),
            np.asarray(arrays[f"{prefix}_indices"]),
            np.asarray(arrays[f"{prefix}_indptr"]),
        ),
        shape=shape,
    )
