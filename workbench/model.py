"""The model contract, and the scoring machinery every model shares.

A model plugin subclasses `Model` (or `FactorModel` for biased dot-product models) and
implements a few underscore hooks; the base class provides the public API with
scikit-learn semantics:

- ``fit(train, callback=None, validation=None) -> self``; fitting again starts over; learned
  attributes end in ``_``; using a model before `fit` raises `NotFittedError`.
- ``predict(users, items)`` scores (user, item) index pairs.
- ``recommend(users, k)`` returns ``(items, scores)`` arrays of shape (n, k), computed in
  blocks of users (never a dense users x items matrix); short lists are padded with item
  ``-1`` and score NaN.
- ``fold_in(history)`` computes new users' state with item parameters frozen; ``predict`` and
  ``recommend`` accept the returned `FoldedUsers`.
- ``save(path)`` / ``load(path)``: one ``.npz`` file, no pickle (see `workbench.storage`).

All indices are in the id space of the training data (``model.users_``, ``model.items_``).
Cold users/items (no training interactions) get each model's documented fallback; indices
outside the trained id space are cold too (the hooks receive them as ``-1``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from workbench.component import Component
from workbench.data import IdMap, Interactions
from workbench.errors import DataError, NotFittedError, TrainingDiverged, WorkbenchError

UserState = dict[str, np.ndarray]
"""Per-user model state: arrays whose first axis is the user (rows line up)."""

#: Floats scored per block in `recommend` (bounds memory: 4M float32 = 16 MiB).
BLOCK_CELLS = 1 << 22


@dataclass(frozen=True)
class EpochInfo:
    """What a model reports after each training epoch or iteration."""

    epoch: int
    n_epochs: int
    loss: float
    validation: Mapping[str, float] = field(default_factory=dict)
    seconds: float = 0.0


TrainingCallback = Callable[[EpochInfo], None]


def _no_callback(info: EpochInfo) -> None:
    return None


@dataclass
class FoldedUsers:
    """Users outside the training data, folded into a fitted model (items frozen)."""

    ids: np.ndarray
    state: UserState
    seen: sp.csr_matrix

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, ids: Any) -> np.ndarray:
        """Rows of these external user ids."""
        return IdMap(self.ids).index_of(ids)


def take_state(state: UserState, rows: Any) -> UserState:
    """Rows of a user state."""
    return {k: v[rows] for k, v in state.items()}


def top_k(scores: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` of each row of ``scores`` (columns are ``candidates``).

    Ordered by score descending, ties by item index ascending; ``-inf`` entries (excluded
    items) are never returned: the row is padded with item -1 and score NaN instead.
    """
    n, m = scores.shape
    out_items = np.full((n, k), -1, dtype=np.int64)
    out_scores = np.full((n, k), np.nan, dtype=np.float32)
    kk = min(k, m)
    if kk == 0 or n == 0:
        return out_items, out_scores
    if kk < m:
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        # argpartition picks arbitrary members of a tie at the k-th place: redo those rows
        # so that ties go to the lowest item index, as documented (a top-k list is then
        # always the prefix of a longer one).
        kth = np.take_along_axis(scores, part, axis=1).min(axis=1)
        tied = np.isfinite(kth) & ((scores >= kth[:, None]).sum(axis=1) > kk)
        if tied.any():
            rows = np.flatnonzero(tied)
            sub, t = scores[rows], kth[rows][:, None]
            if np.all(np.diff(candidates) > 0):  # columns in item order: take the first ties
                above = sub > t
                need = kk - above.sum(axis=1)
                at = sub == t
                pick = above | (at & (np.cumsum(at, axis=1) <= need[:, None]))
                part[rows] = np.nonzero(pick)[1].reshape(len(rows), kk)
            else:
                keys = np.broadcast_to(candidates, sub.shape)
                part[rows] = np.lexsort((keys, -sub), axis=1)[:, :kk]
    else:
        part = np.broadcast_to(np.arange(m), (n, m))
    part_scores = np.take_along_axis(scores, part, axis=1)
    part_items = candidates[part]
    order = np.lexsort((part_items, -part_scores), axis=1)
    best_scores = np.take_along_axis(part_scores, order, axis=1)
    best_items = np.take_along_axis(part_items, order, axis=1)
    valid = np.isfinite(best_scores)
    out_items[:, :kk] = np.where(valid, best_items, -1)
    out_scores[:, :kk] = np.where(valid, best_scores, np.nan)
    return out_items, out_scores


class Model(Component):
    """Base class of every recommender model.

    Subclasses implement `_fit`, `_user_state`, `_score`, `_state_arrays` and
    `_set_state_arrays`; optionally `_score_pairs` (faster `predict`) and `_fold_in`.
    """

    kind: ClassVar[str] = "model"
    #: Feedback kinds the model can be trained on.
    feedback: ClassVar[frozenset[str]] = frozenset({"explicit", "implicit"})
    #: Bump when the arrays a model saves change meaning; older files are refused.
    state_version: ClassVar[int] = 1

    # -- hooks for subclasses -------------------------------------------------------------------
    def _fit(
        self,
        train: Interactions,
        *,
        callback: TrainingCallback,
        validation: Interactions | None,
    ) -> None:
        raise NotImplementedError  # abstractmethod: every model implements it

    def _user_state(self, users: np.ndarray) -> UserState:
        """State of known users by index (``-1``: a user outside the trained id space)."""
        raise NotImplementedError  # abstractmethod

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        """Scores of every state row against ``items``: shape (n_rows, len(items))."""
        raise NotImplementedError  # abstractmethod

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        """Score of state row r with ``items[r]`` (``-1``: unknown item). Default via `_score`:
        an unknown item gets the user's mean score over the catalogue (override for a
        model-specific fallback)."""
        out = np.empty(len(items), dtype=np.float32)
        safe = np.where(items < 0, 0, items)
        for start in range(0, len(items), 256):
            rows = slice(start, start + 256)
            block = self._score(take_state(state, rows), safe[rows])
            out[rows] = np.diagonal(block)
        unknown = np.flatnonzero(items < 0)
        every_item = np.arange(self.n_items_)
        for start in range(0, len(unknown), 256):
            rows = unknown[start : start + 256]
            out[rows] = self._score(take_state(state, rows), every_item).mean(axis=1)
        return out

    def _fold_in(self, history: sp.csr_matrix) -> UserState:
        """State for new users from their interactions (rows of ``history``), items frozen."""
        raise WorkbenchError(f"{self.owner()} does not support fold-in of new users")

    def _state_arrays(self) -> dict[str, np.ndarray]:
        """Everything learned, as arrays (saved to the model file)."""
        raise NotImplementedError  # abstractmethod

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Restore what `_state_arrays` returned."""
        raise NotImplementedError  # abstractmethod

    def _after_fit(self) -> None:
        """Called after `_fit` (e.g. to apply the cold-start fallback)."""

    # -- fitting ------------------------------------------------------------------------------
    def fit(
        self,
        train: Interactions,
        *,
        callback: TrainingCallback | None = None,
        validation: Interactions | None = None,
    ) -> Self:
        """Learn from ``train``; returns self. Fitting again starts over."""
        if not isinstance(train, Interactions):
            raise DataError(f"{self.owner()}: fit() expects Interactions, got {type(train)!r}")
        if len(train) == 0:
            raise DataError(f"{self.owner()}: the training set is empty")
        if train.kind not in self.feedback:
            allowed = " or ".join(sorted(self.feedback))
            raise DataError(
                f"{self.owner()} needs {allowed} feedback, but {train.name!r} is {train.kind}"
            )
        self._forget_fit()
        started = time.perf_counter()
        try:
            self._record_training_data(train)
            self._fit(train, callback=callback or _no_callback, validation=validation)
            self._after_fit()
        except BaseException:
            self._forget_fit()  # a failed fit (divergence, Ctrl-C) never looks fitted
            raise
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _forget_fit(self) -> None:
        """Remove every learned attribute (those ending in ``_``)."""
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, key)

    def _record_training_data(self, train: Interactions) -> None:
        self.users_: IdMap = train.users
        self.items_: IdMap = train.items
        self.n_users_ = train.n_users
        self.n_items_ = train.n_items
        self.feedback_ = train.kind
        self.rating_scale_ = train.rating_scale
        self.user_counts_ = train.user_counts().astype(np.int32)
        self.item_counts_ = train.item_counts().astype(np.int32)
        csr = train.csr()
        self.seen_ = sp.csr_matrix(
            (np.ones(csr.nnz, dtype=np.bool_), csr.indices.copy(), csr.indptr.copy()),
            shape=csr.shape,
        )
        titles = train.item_titles(np.arange(train.n_items))
        #: Item titles by index ("" where unknown), or None when the data has none; saved
        #: with the model so recommendations can show them.
        self.item_titles_: np.ndarray | None = (
            np.array([t or "" for t in titles], dtype=str) if any(titles) else None
        )

    def selects_on_validation(self) -> bool:
        """True when `fit` chooses something (e.g. the epoch, by early stopping) from its
        ``validation`` data. The comparison runner then refuses to pass a fold's test set as
        validation data, which would leak it into training."""
        return False

    @property
    def is_fitted(self) -> bool:
        return "n_items_" in vars(self)

    def check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"{self.owner()} is not fitted yet: call fit() first or load a model file"
            )

    @staticmethod
    def check_loss(loss: float, epoch: int, hint: str = "") -> None:
        """Stop training with a clear error when the loss is NaN/infinite."""
        if not math.isfinite(loss):
            more = f"; {hint}" if hint else "; try a lower learning rate"
            raise TrainingDiverged(f"training diverged at epoch {epoch} (loss={loss}){more}")

    # -- users --------------------------------------------------------------------------------
    def _resolve_users(
        self, users: Any
    ) -> tuple[Callable[[slice], UserState], sp.csr_matrix | None, np.ndarray, int]:
        """(state getter for a block, seen matrix for those rows, row ids, n)."""
        self.check_fitted()
        if isinstance(users, FoldedUsers):
            folded = users
            rows = np.arange(len(folded))
            return (lambda sl: take_state(folded.state, sl)), folded.seen, rows, len(folded)
        idx = np.atleast_1d(np.asarray(users))
        if idx.dtype.kind not in "iu":
            raise DataError(f"{self.owner()}: user indices must be integers, got {idx.dtype}")
        idx = idx.astype(np.int64)
        inside = (idx >= 0) & (idx < self.n_users_)
        safe = np.where(inside, idx, -1)
        seen_rows = np.where(inside, idx, 0)

        def state_of(sl: slice) -> UserState:
            return self._user_state(safe[sl])

        seen = self.seen_[seen_rows]
        if not inside.all():
            seen = seen.tolil()
            for r in np.flatnonzero(~inside):
                seen.rows[r] = []
                seen.data[r] = []
            seen = seen.tocsr()
        return state_of, seen, idx, len(idx)

    def fold_in(self, history: Interactions) -> FoldedUsers:
        """Fold new users into the model from their interactions (items frozen).

        ``history`` may use any id space: it is aligned to the model's items by id; items the
        model does not know are ignored.
        """
        self.check_fitted()
        if len(history) == 0:
            raise DataError(f"{self.owner()}: fold-in history is empty")
        aligned = history.align_to(IdMap(history.users.ids), self.items_)
        keep = aligned.item < self.n_items_
        aligned = aligned.subset(keep)
        present = np.unique(aligned.user)
        user_ids = history.users.id_of(present)
        remap = np.full(history.n_users, -1, dtype=np.int64)
        remap[present] = np.arange(len(present))
        csr = sp.csr_matrix(
            (aligned.value, (remap[aligned.user], aligned.item)),
            shape=(len(present), self.n_items_),
            dtype=np.float32,
        )
        csr.sum_duplicates()
        csr.sort_indices()
        state = self._fold_in(csr)
        seen = sp.csr_matrix(
            (np.ones(csr.nnz, dtype=np.bool_), csr.indices, csr.indptr), shape=csr.shape
        )
        return FoldedUsers(ids=np.asarray(user_ids), state=state, seen=seen)

    # -- scoring ------------------------------------------------------------------------------
    def predict(self, users: Any, items: Any) -> np.ndarray:
        """Scores of (user, item) pairs; ``users`` may be indices or a `FoldedUsers`
        (then ``items[r]`` is scored for folded user r, or ``users=(folded, rows)``)."""
        self.check_fitted()
        items = np.atleast_1d(np.asarray(items)).astype(np.int64)
        if isinstance(users, tuple) and isinstance(users[0], FoldedUsers):
            folded, rows = users
            state = take_state(folded.state, np.asarray(rows, dtype=np.int64))
        elif isinstance(users, FoldedUsers):
            state = users.state
        else:
            uidx = np.atleast_1d(np.asarray(users)).astype(np.int64)
            if len(uidx) != len(items):
                raise DataError(
                    f"predict: {len(uidx)} users but {len(items)} items (pairs must line up)"
                )
            uidx = np.where((uidx >= 0) & (uidx < self.n_users_), uidx, -1)
            state = self._user_state(uidx)
        first = next(iter(state.values()), np.empty(0))
        if len(first) != len(items):
            raise DataError(f"predict: {len(first)} users but {len(items)} items")
        items = np.where((items >= 0) & (items < self.n_items_), items, -1)
        return np.asarray(self._score_pairs(state, items), dtype=np.float32)

    def iter_score_blocks(
        self,
        users: Any,
        *,
        items: Any = None,
        exclude_seen: bool = True,
        batch_size: int | None = None,
    ) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
        """Yield ``(rows, candidates, scores)`` blocks: ``scores[r, j]`` is the score of
        ``candidates[j]`` for user ``rows[r]``; excluded (seen) items score ``-inf``."""
        state_of, seen, _, n = self._resolve_users(users)
        if items is None:
            cand = np.arange(self.n_items_, dtype=np.int64)
            pos = None
        else:
            cand = np.unique(np.asarray(items, dtype=np.int64))
            if len(cand) and (cand[0] < 0 or cand[-1] >= self.n_items_):
                raise DataError(f"{self.owner()}: candidate item index outside the model")
            pos = np.full(self.n_items_, -1, dtype=np.int64)
            pos[cand] = np.arange(len(cand))
        bs = batch_size or max(1, BLOCK_CELLS // max(len(cand), 1))
        for start in range(0, n, bs):
            sl = slice(start, min(start + bs, n))
            scores = np.array(self._score(state_of(sl), cand), dtype=np.float32, copy=True)
            if exclude_seen and seen is not None:
                block = seen[sl]
                r = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
                c = block.indices.astype(np.int64)
                if pos is not None:
                    c = pos[c]
                    r, c = r[c >= 0], c[c >= 0]
                scores[r, c] = -np.inf
            yield sl, cand, scores

    def recommend(
        self,
        users: Any,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        items: Any = None,
        batch_size: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items for each user: ``(item_indices, scores)``, shape (n_users, k).

        ``exclude_seen`` drops items the user interacted with in training (or in the fold-in
        history); ``items`` restricts the candidates. Rows with fewer than ``k`` candidates are
        padded with item -1 and score NaN.
        """
        if k < 1:
            raise DataError(f"recommend: k must be >= 1, got {k}")
        _, _, _, n = self._resolve_users(users)
        out_items = np.full((n, k), -1, dtype=np.int64)
        out_scores = np.full((n, k), np.nan, dtype=np.float32)
        for sl, cand, scores in self.iter_score_blocks(
            users, items=items, exclude_seen=exclude_seen, batch_size=batch_size
        ):
            out_items[sl], out_scores[sl] = top_k(scores, cand, k)
        return out_items, out_scores

    # -- item similarity ------------------------------------------------------------------------
    def item_embeddings(self) -> np.ndarray | None:
        """Item vectors used for similar items and diversity (None if the model has none)."""
        return None

    def similar_items(self, items: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Nearest items by cosine similarity of `item_embeddings` (the item itself excluded)."""
        self.check_fitted()
        emb = self.item_embeddings()
        if emb is None:
            raise WorkbenchError(f"{self.owner()} has no item vectors to compare items with")
        idx = np.atleast_1d(np.asarray(items, dtype=np.int64))
        norms = np.linalg.norm(emb, axis=1)
        norms[norms == 0] = 1.0
        unit = emb / norms[:, None]
        sims = unit[idx] @ unit.T
        sims[np.arange(len(idx)), idx] = -np.inf
        return top_k(sims.astype(np.float32), np.arange(len(emb)), k)

    # -- files ----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to one file (atomically, no pickle)."""
        from workbench.storage import save_model

        return save_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Model:
        """Read a model file written by `save` (refuses other models and versions)."""
        from workbench.storage import load_model

        return load_model(path, expected=cls)


class FactorModel(Model):
    """Shared machinery of biased dot-product models: ``mu + b_u + b_i + p_u . q_i``.

    Subclasses set ``global_mean_``, ``user_bias_``, ``item_bias_``, ``user_factors_`` and
    ``item_factors_`` in `_fit`. Cold-start fallback (applied after fit): users or items with
    no training data get zero factors and zero bias, so a cold user scores
    ``mu + b_i`` (item popularity baseline), a cold item ``mu + b_u``, both ``mu``.
    The default `_fold_in` solves a regularised least-squares problem per new user with item
    parameters frozen (an ALS half-step); models may override it.
    """

    #: L2 regularisation used by the default closed-form fold-in.
    fold_in_reg: ClassVar[float] = 0.1

    def _after_fit(self) -> None:
        cold_users = self.user_counts_ == 0
        cold_items = self.item_counts_ == 0
        self.user_factors_[cold_users] = 0.0
        self.item_factors_[cold_items] = 0.0
        self.user_bias_[cold_users] = 0.0
        self.item_bias_[cold_items] = 0.0

    def _user_state(self, users: np.ndarray) -> UserState:
        inside = users >= 0
        safe = np.where(inside, users, 0)
        factors = self.user_factors_[safe] * inside[:, None]
        bias = self.user_bias_[safe] * inside
        return {"factors": factors.astype(np.float32), "bias": bias.astype(np.float32)}

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        q = self.item_factors_[items]
        scores = state["factors"] @ q.T
        scores += state["bias"][:, None]
        scores += (self.item_bias_[items] + self.global_mean_)[None, :]
        return scores

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        inside = items >= 0
        safe = np.where(inside, items, 0)
        q = self.item_factors_[safe] * inside[:, None]
        bi = self.item_bias_[safe] * inside
        return np.einsum("ij,ij->i", state["factors"], q) + state["bias"] + bi + self.global_mean_

    def _fold_in(self, history: sp.csr_matrix) -> UserState:
        n, f = history.shape[0], self.item_factors_.shape[1]
        factors = np.zeros((n, f), dtype=np.float32)
        bias = np.zeros(n, dtype=np.float32)
        reg = self.fold_in_reg
        for r in range(n):
            lo, hi = history.indptr[r], history.indptr[r + 1]
            if lo == hi:
                continue
            items = history.indices[lo:hi]
            target = history.data[lo:hi] - self.global_mean_ - self.item_bias_[items]
            x = np.hstack([self.item_factors_[items], np.ones((hi - lo, 1), np.float32)])
            a = x.T @ x + reg * (hi - lo) * np.eye(f + 1)
            sol = np.linalg.solve(a, x.T @ target)
            factors[r], bias[r] = sol[:f], sol[f]
        return {"factors": factors, "bias": bias}

    def item_embeddings(self) -> np.ndarray:
        return self.item_factors_

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {
            "global_mean": np.asarray(self.global_mean_, dtype=np.float64),
            "user_bias": self.user_bias_,
            "item_bias": self.item_bias_,
            "user_factors": self.user_factors_,
            "item_factors": self.item_factors_,
        }

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.global_mean_ = float(arrays["global_mean"])
        self.user_bias_ = np.asarray(arrays["user_bias"])
        self.item_bias_ = np.asarray(arrays["item_bias"])
        self.user_factors_ = np.asarray(arrays["user_factors"])
        self.item_factors_ = np.asarray(arrays["item_factors"])
