"""The model contract, and the scoring machinery every model shares.

A model plugin subclasses `Model` (or one of the embedding kinds in `workbench.factor.embedding`:
`RatingFactorModel` for biased rating MF, `RankingFactorModel` for implicit-feedback MF) and
implements a few underscore hooks; the base class provides the public API with
scikit-learn semantics:

- ``fit(train, callback=None, validation=None) -> self``; fitting again starts over; learned
  attributes end in ``_``; using a model before `fit` raises `NotFittedError`.
- ``predict(users, items)`` scores (user, item) index pairs.
- ``recommend(users, k)`` returns ``(items, scores)`` arrays of shape (n, k), computed in
  blocks of users (never a dense users x items matrix); short lists are padded with item
  ``-1`` and score NaN.
- ``fold_in(history)`` computes new users' state with item parameters frozen; ``predict`` and
  ``recommend`` accept the returned `FoldedUsers`; ``update_users(history)`` keeps them (new
  users appended, known users refreshed).
- ``rank_blocks(users, k)`` yields top-k lists per block of users through the model's ranking
  hook `_rank` (``recommend`` and the evaluation both use it).
- ``save(path)`` / ``load(path)``: one ``.npz`` file, no pickle (see `workbench.storage`).

All indices are in the id space of the training data (``model.users_``, ``model.items_``).
Cold users/items (no training interactions) get the fallback each model declares as data
(`ColdStart`); indices outside the trained id space are cold too (the hooks receive them as
``-1``). What a model declares: ``feedback`` (data kinds it trains on), ``predicts``
(``"ratings"`` or ``"scores"``), ``cold_start``, ``fork_safe`` and its ``Params``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
import scipy.sparse as sp

from workbench.capabilities import Capabilities, ColdStart, gradient_options
from workbench.component import Component
from workbench.data import IdMap, Interactions
from workbench.errors import (
    DataError,
    NotFittedError,
    ParamError,
    PluginError,
    TrainingDiverged,
    WorkbenchError,
)
from workbench.plugin_api import check_target, deprecated
from workbench.user_state import UserState

#: Floats scored per block in `recommend` (bounds memory: 4M float32 = 16 MiB).
BLOCK_CELLS = 1 << 22
#: Blocks of `BLOCK_CELLS` scores per `rank_blocks` block on the default `Model._rank`, which
#: holds no block's scores (it scores and selects chunk by chunk): larger blocks, less
#: per-block work (the evaluation's relevance lookup and metrics, the thread hand-offs).
RANK_BLOCKS = 8


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
class RankedBlock:
    """Top-k lists of one block of users (``rows`` of the users asked for)."""

    rows: slice
    items: np.ndarray  # (n, k) int64 item indices, -1 where the list is short
    scores: np.ndarray  # (n, k) float32, NaN where the list is short
    n_candidates: np.ndarray  # (n,) items each user could be recommended


class DivergenceGuard:
    """Stops training when the loss is NaN/infinite or explodes from the first epoch's.

    One per fit: ``guard.check(loss, epoch)`` after every epoch or iteration.
    """

    #: Growth over the first loss that counts as divergence.
    explosion_factor: ClassVar[float] = 1e6

    def __init__(self, hint: str = "try a lower learning rate", unit: str = "epoch") -> None:
        self.hint = hint
        #: What one step of training is called in messages ("epoch", "iteration").
        self.unit = unit
        self.first: float | None = None

    def check_finite(self, value: float, step: int, what: str = "loss") -> None:
        """Stop when ``value`` (the loss, or any summary of the learned arrays) is NaN/inf."""
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"training diverged at {self.unit} {step} ({what}={value}); {self.hint}"
            )

    def check(self, loss: float, epoch: int) -> None:
        self.check_finite(loss, epoch)
        if self.first is None:
            self.first = loss
        elif loss > self.explosion_factor * max(self.first, 1e-12):
            raise TrainingDiverged(
                f"training diverged at {self.unit} {epoch} (loss {loss:.4g} exploded from "
                f"{self.first:.4g} in {self.unit} 1); {self.hint}"
            )


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


def check_k(k: Any, *, where: str = "recommend", minimum: int = 1) -> int:
    """``k`` as an int (at least ``minimum``); anything else is a one-line `ParamError`."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ParamError(f"{where}: k must be an integer >= {minimum}, got {k!r}")
    if k < minimum:
        raise ParamError(f"{where}: k must be >= {minimum}, got {k}")
    return int(k)


def index_array(values: Any, what: str) -> np.ndarray:
    """``values`` as int64 indices; floats, strings, None and booleans are a `DataError`
    (never truncated or guessed)."""
    if values is None:
        raise DataError(f"{what} indices must be integers, got None")
    arr = np.atleast_1d(np.asarray(values))
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind == "O" and all(  # e.g. Python ints held in an object array
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in arr.flat
    ):
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        first = arr.flat[0]
        raise DataError(f"{what} indices must be integers, got {arr.dtype} (e.g. {first!r})")
    return arr.astype(np.int64, copy=False)  # int64 already (the evaluation's chunks): no copy


def take_state(state: UserState, rows: Any) -> UserState:
    """Rows of a user state."""
    return state.take(rows)


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


#: Capabilities mirrored as class attributes (read by code that predates `Capabilities`).
_MIRRORED = ("feedback", "predicts", "cold_start", "fork_safe", "service", "uses_timestamps")
#: v2 class variables that are now fields of `Capabilities` (deprecated; still honoured).
_LEGACY_VARIABLES = (*_MIRRORED, "jit_warm_up", "biased")
#: Methods that read a capability; v2 models overrode them where a parameter decides.
_READERS = ("predicts_ratings", "can_fork", "has_biases")


def concurrent_score(method: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a `_score` that several threads may call at once (it only reads the model): the
    default `_rank` then scores and ranks chunks of a block on the workbench's threads."""
    method.concurrent = True  # type: ignore[attr-defined]
    return method


def _reads_capabilities(method: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a core method that reads `Model.declared` (overriding it is the v2 form)."""
    method._reads_capabilities = True  # type: ignore[attr-defined]
    return method


def _class_capabilities(cls: type[Model]) -> Capabilities:
    """The `Capabilities` of a new model class: its own declaration, else its parent's with
    the deprecated v1/v2 forms in its body folded in (each warned once, naming the new form)."""
    own = cls.__dict__
    declared = own.get("capabilities")
    if declared is not None and not isinstance(declared, Capabilities):
        raise PluginError(
            f"{cls.owner()}: capabilities must be a workbench.Capabilities, got {type(declared)!r}"
        )
    caps: Capabilities = declared if declared is not None else cls.capabilities
    owner = f"{cls.__module__}.{cls.__qualname__}"
    changes: dict[str, Any] = {}
    for name in _LEGACY_VARIABLES:
        if name in own:
            changes[name] = own[name]
            new = f"capabilities = Capabilities({name}=...)"
            deprecated(owner, f"class variable {name!r}", new, stacklevel=4)
    fallback = own.get("cold_fallback")
    if isinstance(fallback, str) and "cold_start" not in own:
        changes["cold_start"] = ColdStart.from_text(fallback)
        new = "capabilities = Capabilities(cold_start=ColdStart(user=..., item=...))"
        deprecated(owner, "cold_fallback = '...'", new, stacklevel=4)
    for name in _READERS:
        method = own.get(name)
        if method is not None and not getattr(method, "_reads_capabilities", False):
            new = "a classmethod capabilities_for(params) returning Capabilities"
            deprecated(owner, f"overriding {name}()", new, stacklevel=4)
    if changes:
        caps = caps.replace(**changes)
    if declared is None:  # what a hook implemented without a declaration says
        if caps.fold_in is None and cls._fold_in is not Model._fold_in:
            caps = caps.replace(fold_in="custom")
        rows_kept = cls._set_user_rows is not Model._set_user_rows
        if not caps.update_users and caps.fold_in is not None and rows_kept:
            caps = caps.replace(update_users=True)
        own_items = (
            cls.item_embeddings is not Model.item_embeddings
            or cls.similar_items is not Model.similar_items
        )
        if not caps.similar_items and own_items:
            caps = caps.replace(similar_items=True)
    return caps


class Model(Component):
    """Base class of every recommender model.

    Subclasses implement `_fit`, `_user_state`, `_score`, `_state_arrays` and
    `_set_state_arrays`; optionally `_score_pairs` (faster `predict`), `_fold_in` and
    `_set_user_rows` (new users; `update_users`) and `_rank` (a ranking of their own).
    """

    kind: ClassVar[str] = "model"
    #: What the model can do, declared once (`workbench.capabilities.Capabilities`); where a
    #: parameter decides, override the classmethod `capabilities_for`.
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: The plugin API version the model is written against (None: not said); a newer one
    #: than `workbench.PLUGIN_API_VERSION` is refused when the class is defined.
    plugin_api: ClassVar[str | None] = None
    #: Bump when the arrays a model saves change meaning; older files are refused.
    state_version: ClassVar[int] = 1
    # Read-only mirrors of ``capabilities`` for code that reads them as attributes (set on
    # every subclass; declaring them as class variables is the deprecated v2 form).
    feedback: ClassVar[frozenset[str]] = capabilities.feedback
    predicts: ClassVar[Literal["ratings", "scores"]] = capabilities.predicts
    cold_start: ClassVar[ColdStart | None] = capabilities.cold_start
    fork_safe: ClassVar[bool] = capabilities.fork_safe
    service: ClassVar[str | None] = capabilities.service
    uses_timestamps: ClassVar[bool] = capabilities.uses_timestamps

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_target(cls.__dict__.get("plugin_api"), cls.owner())
        cls.capabilities = _class_capabilities(cls)
        for key in _MIRRORED:
            setattr(cls, key, getattr(cls.capabilities, key))
        cls._legacy_readers = tuple(
            name
            for name in _READERS
            if any(
                name in k.__dict__ and not getattr(k.__dict__[name], "_reads_capabilities", False)
                for k in cls.__mro__
                if issubclass(k, Model)
            )
        )

    # -- what a model declares ------------------------------------------------------------------
    @classmethod
    def capabilities_for(cls, params: Any) -> Capabilities:
        """The capabilities with these parameters (default: the class's `capabilities`);
        override where a parameter decides one (the only place that does)."""
        return cls.capabilities

    def declared(self) -> Capabilities:
        """What this model, with its current parameters, declares it can do."""
        caps = self.capabilities_for(self.params)
        legacy = type(self)._legacy_readers
        if legacy:  # a v2 model overrides a reader instead of `capabilities_for`
            changes: dict[str, Any] = {}
            if "predicts_ratings" in legacy:
                changes["predicts"] = "ratings" if self.predicts_ratings() else "scores"
            if "can_fork" in legacy:
                changes["fork_safe"] = bool(self.can_fork())
            if "has_biases" in legacy:
                changes["biased"] = bool(self.has_biases())  # type: ignore[attr-defined]
            caps = caps.replace(**changes)
        return caps

    @_reads_capabilities
    def predicts_ratings(self) -> bool:
        """Whether `predict` gives ratings (rating metrics apply) rather than ranking scores."""
        return self.declared().predicts == "ratings"

    @_reads_capabilities
    def can_fork(self) -> bool:
        """Whether the runner may train and evaluate this model in a worker process."""
        return self.declared().fork_safe

    @classmethod
    def supports_fold_in(cls) -> bool:
        """Whether new users can be folded in (`fold_in`)."""
        return cls.capabilities.fold_in is not None

    @classmethod
    def describe_cold_start(cls) -> str:
        """The declared cold-start fallback, as one line."""
        if cls.capabilities.cold_start is None:
            return f"not declared by {cls.owner()}"
        return cls.capabilities.cold_start.describe()

    def missing_data(self, data: Interactions) -> str | None:
        """What this model (with its parameters) needs that ``data`` lacks, as a phrase
        (timestamps, attributes, ...), or None. ``compare --all-models`` leaves such models
        out; `fit` refuses the data with the same words."""
        return None

    def selects_on_validation(self) -> bool:
        """True when `fit` chooses something (e.g. the epoch, by early stopping) from its
        ``validation`` data. The comparison runner then refuses to pass a fold's test set as
        validation data, which would leak it into training."""
        return False

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
            block = self._score(state.take(rows), safe[rows])
            out[rows] = np.diagonal(block)
        unknown = np.flatnonzero(items < 0)
        every_item = np.arange(self.n_items_)
        for start in range(0, len(unknown), 256):
            rows = unknown[start : start + 256]
            out[rows] = self._score(state.take(rows), every_item).mean(axis=1)
        return out

    def _rank(
        self,
        state: UserState,
        seen: sp.csr_matrix | None,
        candidates: np.ndarray,
        k: int,
        order: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-``k`` of ``candidates`` for each state row: ``(items, scores, n_candidates)``.

        ``seen`` (rows of this block, over all items; None: nothing excluded) marks items that
        must not be returned; NaN/infinite scores are never returned either. Ties go by
        ``order`` (positions into ``candidates``; None: by item index). ``n_candidates`` counts
        the items each row could have returned. Override to rank by other means (a GPU, an
        index, a cluster); the default scores chunks of rows with `_score` and selects the
        top-k in one compiled pass per chunk (`workbench.topk.kernel`), on the workbench's
        threads when `_score` is marked `concurrent_score`.
        """
        from workbench.topk.kernel import rank_rows

        n_threads = 1
        if getattr(type(self)._score, "concurrent", False):
            import numba

            n_threads = numba.get_num_threads()
        return rank_rows(
            lambda rows: self._score(state.take(rows), candidates),
            len(state), candidates, self.n_items_, seen, k, order, n_threads,
        )  # fmt: skip

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        """State for new users from their interactions (rows of ``history``), items frozen."""
        raise WorkbenchError(f"{self.owner()} does not support fold-in of new users")

    def _fold_in_side_information(self, history: Interactions, user_ids: np.ndarray) -> Any:
        """Side information of the users being folded in (``user_ids``, in the order of the
        rows `_fold_in` gets), read from ``history`` (e.g. its user attributes); `_fold_in`
        receives it as the keyword ``side``. None (the default): no ``side`` is passed."""
        return None

    def _check_fold_in_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Validate per-call fold-in options: ``n_epochs`` and ``lr`` for a declared
        ``gradient`` fold-in (`workbench.capabilities.gradient_options`); otherwise none."""
        if self.declared().fold_in == "gradient":
            return gradient_options(options, self.owner())
        if options:
            raise ParamError(
                f"{self.owner()} takes no fold-in options, got {', '.join(sorted(options))}"
            )
        return options

    def _set_user_rows(self, rows: np.ndarray, state: UserState, n_users: int) -> None:
        """Store folded-in users: grow the per-user arrays to ``n_users`` rows and set
        ``rows`` from ``state`` (used by `update_users`)."""
        raise WorkbenchError(f"{self.owner()} cannot keep folded-in users (update_users)")

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
        DivergenceGuard(hint or "try a lower learning rate").check(loss, epoch)

    # -- users --------------------------------------------------------------------------------
    def _resolve_users(
        self, users: Any
    ) -> tuple[Callable[[slice], UserState], sp.csr_matrix | None, np.ndarray, int]:
        """(state getter for a block, seen matrix for those rows, row ids, n)."""
        self.check_fitted()
        if isinstance(users, FoldedUsers):
            folded = users
            rows = np.arange(len(folded))
            return folded.state.take, folded.seen, rows, len(folded)
        idx = index_array(users, f"{self.owner()}: user")
        inside = (idx >= 0) & (idx < self.n_users_)
        safe = np.where(inside, idx, -1)
        seen_rows = np.where(inside, idx, 0)

        def state_of(sl: slice) -> UserState:
            return self._known_state(safe[sl])

        seen = self.seen_[seen_rows]
        if not inside.all():
            seen = seen.tolil()
            for r in np.flatnonzero(~inside):
                seen.rows[r] = []
                seen.data[r] = []
            seen = seen.tocsr()
        return state_of, seen, idx, len(idx)

    def _known_state(self, users: np.ndarray) -> UserState:
        return self._as_state(self._user_state(users), len(users), "_user_state")

    def _as_state(self, value: Any, n_rows: int, hook: str) -> UserState:
        """A hook's `UserState` (a plain dict, the v1 form, is accepted with a warning)."""
        if not isinstance(value, UserState):
            deprecated(
                f"{type(self).__module__}.{type(self).__qualname__}",
                f"a dict returned by {hook}",
                "workbench.UserState (UserState.of(...))",
            )
        return UserState.coerce(value, n_rows)

    def fold_in(self, history: Interactions, **options: Any) -> FoldedUsers:
        """Fold new users into the model from their interactions (items frozen).

        ``history`` may use any id space: it is aligned to the model's items by id; items the
        model does not know are ignored. ``options`` are the model's per-call fold-in
        settings (e.g. ``n_epochs`` for gradient fold-in); unknown ones are an error.
        """
        self.check_fitted()
        if not self.supports_fold_in():
            raise WorkbenchError(f"{self.owner()} does not support fold-in of new users")
        if not isinstance(history, Interactions):
            raise DataError(f"{self.owner()}: fold-in expects Interactions, got {type(history)!r}")
        if len(history) == 0:
            raise DataError(f"{self.owner()}: fold-in history is empty")
        options = self._check_fold_in_options(dict(options))
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
        side = self._fold_in_side_information(history, np.asarray(user_ids))
        if side is not None:
            options["side"] = side
        state = self._as_state(self._fold_in(csr, **options), csr.shape[0], "_fold_in")
        seen = sp.csr_matrix(
            (np.ones(csr.nnz, dtype=np.bool_), csr.indices, csr.indptr), shape=csr.shape
        )
        return FoldedUsers(ids=np.asarray(user_ids), state=state, seen=seen)

    def update_users(self, new_interactions: Interactions, **options: Any) -> Self:
        """Add new users, or refresh known ones, from their interactions with items frozen.

        A known user's state is recomputed from the interactions given here (pass all of that
        user's interactions, not only the changed ones); new users are appended to
        ``users_``. Interactions with items the model does not know are ignored. ``options``
        go to fold-in (see `fold_in`). Returns self.
        """
        self.check_fitted()
        if not self.declared().update_users:
            raise WorkbenchError(f"{self.owner()} cannot keep folded-in users (update_users)")
        if not isinstance(new_interactions, Interactions) or len(new_interactions) == 0:
            raise DataError("update_users: expected non-empty Interactions")
        folded = self.fold_in(new_interactions, **options)
        users = self.users_.extend(folded.ids)
        rows = users.index_of(folded.ids)
        n_users = len(users)
        self._set_user_rows(rows, folded.state, n_users)
        n_new = n_users - self.n_users_
        if n_new:
            self.user_counts_ = np.concatenate([self.user_counts_, np.zeros(n_new, np.int32)])
        self.user_counts_[rows] = np.diff(folded.seen.indptr).astype(np.int32)
        self.users_ = users
        self.n_users_ = n_users
        self.seen_ = replace_rows(self.seen_, rows, folded.seen, n_users)
        return self

    # -- scoring ------------------------------------------------------------------------------
    def predict(self, users: Any, items: Any, *, timestamps: Any = None) -> np.ndarray:
        """Scores of (user, item) pairs; ``users`` may be indices or a `FoldedUsers`
        (then ``items[r]`` is scored for folded user r, or ``users=(folded, rows)``).
        ``timestamps`` (one per pair, the data's unit) reach models with `uses_timestamps`;
        other models ignore them."""
        self.check_fitted()
        items = index_array(items, f"{self.owner()}: predict: item")
        if isinstance(users, tuple) and isinstance(users[0], FoldedUsers):
            folded, rows = users
            state = folded.state.take(index_array(rows, f"{self.owner()}: predict: folded row"))
        elif isinstance(users, FoldedUsers):
            state = users.state
        else:
            uidx = index_array(users, f"{self.owner()}: predict: user")
            if len(uidx) != len(items):
                raise DataError(
                    f"predict: {len(uidx)} users but {len(items)} items (pairs must line up)"
                )
            uidx = np.where((uidx >= 0) & (uidx < self.n_users_), uidx, -1)
            state = self._known_state(uidx)
        if len(state) != len(items):
            raise DataError(f"predict: {len(state)} users but {len(items)} items")
        items = np.where((items >= 0) & (items < self.n_items_), items, -1)
        if timestamps is not None and self.uses_timestamps:
            ts = np.atleast_1d(np.asarray(timestamps))
            if len(ts) != len(items):
                raise DataError(f"predict: {len(ts)} timestamps for {len(items)} pairs")
            scores = self._score_pairs(state, items, timestamps=ts)  # type: ignore[call-arg]
            return np.asarray(scores, dtype=np.float32)
        return np.asarray(self._score_pairs(state, items), dtype=np.float32)

    def _candidates(self, items: Any) -> np.ndarray:
        if items is None:
            return np.arange(self.n_items_, dtype=np.int64)
        cand = np.unique(index_array(items, f"{self.owner()}: candidate item"))
        if len(cand) and (cand[0] < 0 or cand[-1] >= self.n_items_):
            raise DataError(f"{self.owner()}: candidate item index outside the model")
        return cand

    def iter_score_blocks(
        self,
        users: Any,
        *,
        items: Any = None,
        exclude_seen: bool = True,
        batch_size: int | None = None,
    ) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
        """Yield ``(rows, candidates, scores)`` blocks: ``scores[r, j]`` is the score of
        ``candidates[j]`` for user ``rows[r]``; excluded (seen) items score ``-inf``.

        For metrics that need every score (AUC, sampled negatives); top-k lists come from
        `rank_blocks`."""
        state_of, seen, _, n = self._resolve_users(users)
        cand = self._candidates(items)
        bs = batch_size or max(1, BLOCK_CELLS // max(len(cand), 1))
        for start in range(0, n, bs):
            sl = slice(start, min(start + bs, n))
            scores = np.array(self._score(state_of(sl), cand), dtype=np.float32, copy=True)
            if exclude_seen and seen is not None:
                exclude_seen_scores(scores, seen[sl], cand, self.n_items_)
            yield sl, cand, scores

    def _rank_block_users(self, cells: int, n_candidates: int) -> int:
        """Users per `rank_blocks` block for about ``cells`` scores a block: `RANK_BLOCKS`
        times as many on the default `_rank` (it never holds a block's scores); a model's own
        `_rank` (a GPU, Spark) may hold them, so it gets ``cells``."""
        users = max(1, cells // max(n_candidates, 1))
        return users * RANK_BLOCKS if type(self)._rank is Model._rank else users

    def rank_blocks(
        self,
        users: Any,
        k: int,
        *,
        exclude_seen: bool = True,
        items: Any = None,
        order: np.ndarray | None = None,
        batch_size: int | None = None,
    ) -> Iterator[RankedBlock]:
        """Top-``k`` lists for blocks of users, through the model's ranking hook `_rank`.

        ``order``: the tie order, a permutation of the candidate positions (None: ties by item
        index). Blocks hold at most ``batch_size`` users (default: `_rank_block_users`).
        ``k`` is capped at the number of candidate items (the blocks are that wide).
        """
        k = check_k(k, where="rank")
        state_of, seen, _, n = self._resolve_users(users)
        cand = self._candidates(items)
        k = max(1, min(k, len(cand)))
        if order is not None and len(order) != len(cand):
            raise DataError(f"rank: the tie order has {len(order)} entries for {len(cand)} items")
        bs = batch_size or self._rank_block_users(BLOCK_CELLS, len(cand))
        for start in range(0, n, bs):
            sl = slice(start, min(start + bs, n))
            block_seen = seen[sl] if exclude_seen and seen is not None else None
            top, best, n_cand = self._rank(state_of(sl), block_seen, cand, k, order)
            yield RankedBlock(sl, top, best, n_cand)

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
        history); ``items`` restricts the candidates. ``k`` is capped at the number of
        candidate items; rows with fewer candidates (seen items excluded) are padded with
        item -1 and score NaN. Ties go to the lower item index.
        """
        k = check_k(k)
        _, _, _, n = self._resolve_users(users)
        k = max(1, min(k, len(self._candidates(items))))
        out_items = np.full((n, k), -1, dtype=np.int64)
        out_scores = np.full((n, k), np.nan, dtype=np.float32)
        for block in self.rank_blocks(
            users, k, exclude_seen=exclude_seen, items=items, batch_size=batch_size
        ):
            out_items[block.rows], out_scores[block.rows] = block.items, block.scores
        return out_items, out_scores

    # -- item similarity ------------------------------------------------------------------------
    def item_embeddings(self) -> np.ndarray | None:
        """Item vectors used for similar items and diversity (None if the model has none)."""
        return None

    def similar_items(self, items: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Nearest items by cosine similarity of `item_embeddings` (the item itself excluded);
        ``k`` (0 or more) is capped at the number of other items."""
        self.check_fitted()
        check_k(k, where="similar_items", minimum=0)
        emb = self.item_embeddings()
        if emb is None:
            raise WorkbenchError(f"{self.owner()} has no item vectors to compare items with")
        idx, k = self._similar_items_request(items, k, len(emb))
        norms = np.linalg.norm(emb, axis=1)
        norms[norms == 0] = 1.0
        unit = emb / norms[:, None]
        sims = unit[idx] @ unit.T
        sims[np.arange(len(idx)), idx] = -np.inf
        return top_k(sims.astype(np.float32), np.arange(len(emb)), k)

    def _similar_items_request(self, items: Any, k: int, n_items: int) -> tuple[np.ndarray, int]:
        """The checked item indices of a `similar_items` call (a one-line error naming the
        first one outside ``0..n_items-1``) and ``k`` capped at the number of other items."""
        k = check_k(k, where="similar_items", minimum=0)
        idx = index_array(items, f"{self.owner()}: similar_items: item")
        if len(idx) and (idx.min() < 0 or idx.max() >= n_items):
            bad = idx[(idx < 0) | (idx >= n_items)][0]
            raise DataError(
                f"{self.owner()}: similar_items: item index {bad} is outside 0..{n_items - 1}"
            )
        return idx, min(k, max(n_items - 1, 0))

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


def exclude_seen_scores(
    scores: np.ndarray, seen: sp.csr_matrix, candidates: np.ndarray, n_items: int
) -> None:
    """Set the scores of seen items to ``-inf`` in place (columns are ``candidates``)."""
    r = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
    c = seen.indices.astype(np.int64)
    if len(candidates) != n_items:  # a restricted candidate set: map items to columns
        pos = np.full(n_items, -1, dtype=np.int64)
        pos[candidates] = np.arange(len(candidates))
        c = pos[c]
        r, c = r[c >= 0], c[c >= 0]
    scores[r, c] = -np.inf


def replace_rows(
    matrix: sp.csr_matrix, rows: np.ndarray, new: sp.csr_matrix, n_rows: int
) -> sp.csr_matrix:
    """``matrix`` grown to ``n_rows`` rows, with ``rows`` replaced by the rows of ``new``
    (values kept, in ``matrix``'s dtype)."""
    keep = np.ones(n_rows, dtype=bool)
    keep[rows] = False
    old = matrix.tocoo()
    mask = keep[old.row]
    add = new.tocoo()
    r = np.concatenate([old.row[mask], np.asarray(rows)[add.row]])
    c = np.concatenate([old.col[mask], add.col])
    v = np.concatenate([old.data[mask], add.data.astype(matrix.dtype)])
    out = sp.csr_matrix((v, (r, c)), shape=(n_rows, matrix.shape[1]), dtype=matrix.dtype)
    out.sort_indices()
    return out
