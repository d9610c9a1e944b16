"""The training loop shared by the SGD models: epochs, progress, divergence, early stopping,
fold-in and `update_users`.

A subclass provides the model-specific pieces (`_init_params`, `_run_epoch`,
`_predict_pairs`, `_fold_in_users`) and its own `Params` with tuned defaults; the loop here
reports every epoch through the callback (`EpochInfo` with the training loss and, when there
is validation data, the validation RMSE), stops with `TrainingDiverged` when the loss is NaN
or explodes, and restores the best epoch when early stopping is on.
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.data import Interactions
from workbench.errors import DataError, ParamError, TrainingDiverged
from workbench.model import EpochInfo, FactorModel, TrainingCallback, UserState
from workbench.params import Params

#: Loss growth over the first epoch's loss that counts as divergence.
EXPLOSION_FACTOR = 1e6


class SGDParams(Params):
    """Parameters every SGD model has (subclasses override the defaults)."""

    n_factors: int = Field(100, ge=1, description="latent factors per user and item")
    n_epochs: int = Field(40, ge=1, description="passes over the shuffled training ratings")
    lr: float = Field(0.01, gt=0, description="learning rate (step size) of SGD")
    lr_decay: float = Field(
        1.0, gt=0, le=1, description="multiply the learning rate by this after every epoch"
    )
    reg: float = Field(0.05, ge=0, description="L2 regularisation of the factors")
    reg_bias: float = Field(0.02, ge=0, description="L2 regularisation of the biases")
    init_std: float = Field(
        0.1, gt=0, description="standard deviation of the normal initial factors"
    )
    early_stopping_rounds: int | None = Field(
        None,
        ge=1,
        description="stop after this many epochs without a better validation RMSE and keep "
        "the best epoch (needs fit(validation=...) or validation_fraction > 0)",
    )
    validation_fraction: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="fraction of the training ratings held out (seeded) as validation data "
        "when fit() gets none",
    )
    fold_in_epochs: int = Field(
        20, ge=1, description="SGD epochs over a new user's ratings in fold_in/update_users"
    )
    seed: int = Field(0, ge=0, description="random seed (initial factors and shuffle order)")


def rating_arrays(data: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user int32, item int32, value float32) contiguous copies."""
    return (
        np.ascontiguousarray(data.user, dtype=np.int32),
        np.ascontiguousarray(data.item, dtype=np.int32),
        np.ascontiguousarray(data.value, dtype=np.float32),
    )


class SGDModel(FactorModel):
    """Base of the SGD-trained factor models (not registered itself)."""

    feedback = frozenset({"explicit"})
    Params: ClassVar[type[Params]] = SGDParams
    #: Learned arrays that early stopping snapshots and restores.
    _param_names: ClassVar[tuple[str, ...]] = (
        "user_bias_",
        "item_bias_",
        "user_factors_",
        "item_factors_",
    )

    # -- model-specific hooks ----------------------------------------------------------------
    @staticmethod
    def _kernels() -> ModuleType:
        """The compiled kernels (imported lazily: numba is slow to import)."""
        from workbench_sgd import _kernels

        return _kernels

    def _init_params(
        self, users: np.ndarray, items: np.ndarray, values: np.ndarray, rng: np.random.Generator
    ) -> None:
        """Set the learned arrays to their initial values."""
        raise NotImplementedError  # abstractmethod

    def _run_epoch(
        self,
        users: np.ndarray,
        items: np.ndarray,
        values: np.ndarray,
        rng: np.random.Generator,
        lr: float,
    ) -> float:
        """One pass over the ratings (shuffled with ``rng``); returns the mean squared error."""
        raise NotImplementedError  # abstractmethod

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predictions for index pairs during training (out-of-range indices are cold)."""
        raise NotImplementedError  # abstractmethod

    def _base_lr(self) -> float:
        """The learning rate of the first epoch (and of fold-in)."""
        return self.params.lr

    def _end_training(self) -> None:
        """Turn the training arrays into the fitted state (default: nothing to do)."""

    def _fold_in_users(
        self, history: sp.csr_matrix, n_epochs: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(factors, bias) of the users in the rows of ``history``, items frozen."""
        raise NotImplementedError  # abstractmethod

    def selects_on_validation(self) -> bool:
        return self.params.early_stopping_rounds is not None

    # -- training -------------------------------------------------------------------------
    def _fit(
        self,
        train: Interactions,
        *,
        callback: TrainingCallback,
        validation: Interactions | None,
    ) -> None:
        # A failed fit (e.g. diverged) never looks fitted: `Model.fit` forgets it.
        self._fit_sgd(train, callback, validation)

    def _fit_sgd(
        self, train: Interactions, callback: TrainingCallback, validation: Interactions | None
    ) -> None:
        p = self.params
        rng = np.random.default_rng(p.seed)
        users, items, values = rating_arrays(train)
        val = None
        if validation is not None:
            val = self._validation_pairs(validation)
        elif p.validation_fraction > 0:
            held = rng.random(len(values)) < p.validation_fraction
            if held.all() or not held.any():
                raise DataError(
                    f"{self.owner()}: validation_fraction={p.validation_fraction} leaves no "
                    f"training or no validation ratings out of {len(values)}"
                )
            val = (users[held], items[held], values[held])
            users, items, values = users[~held], items[~held], values[~held]
        if p.early_stopping_rounds is not None and val is None:
            raise ParamError(
                f"parameter 'early_stopping_rounds' of {self.owner()} needs validation data: "
                "pass fit(validation=...) or set validation_fraction > 0"
            )
        self.global_mean_ = float(np.mean(values, dtype=np.float64))
        self._init_params(users, items, values, rng)
        self._train_epochs(users, items, values, rng, callback, val)
        trained_users = np.bincount(users, minlength=self.n_users_) > 0
        trained_items = np.bincount(items, minlength=self.n_items_) > 0
        self._end_training()
        for name, mask in (("user", trained_users), ("item", trained_items)):
            getattr(self, f"{name}_factors_")[~mask] = 0.0
            getattr(self, f"{name}_bias_")[~mask] = 0.0

    def _train_epochs(
        self,
        users: np.ndarray,
        items: np.ndarray,
        values: np.ndarray,
        rng: np.random.Generator,
        callback: TrainingCallback,
        val: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    ) -> None:
        p = self.params
        first_loss: float | None = None
        best_rmse, best_epoch, best_state = np.inf, 0, None
        history: list[float] = []
        epoch = 0
        for epoch in range(1, p.n_epochs + 1):
            started = time.perf_counter()
            lr = self._base_lr() * p.lr_decay ** (epoch - 1)
            loss = self._run_epoch(users, items, values, rng, lr)
            self._check_divergence(loss, epoch, first_loss, lr)
            first_loss = loss if first_loss is None else first_loss
            history.append(loss)
            metrics: dict[str, float] = {}
            if val is not None:
                metrics["rmse"] = self._rmse(*val)
            callback(
                EpochInfo(
                    epoch,
                    p.n_epochs,
                    loss,
                    validation=metrics,
                    seconds=time.perf_counter() - started,
                )
            )
            if p.early_stopping_rounds is None:
                continue
            if metrics["rmse"] < best_rmse:
                best_rmse, best_epoch = metrics["rmse"], epoch
                best_state = {name: getattr(self, name).copy() for name in self._param_names}
            elif epoch - best_epoch >= p.early_stopping_rounds:
                break
        if best_state is not None:
            for name, arr in best_state.items():
                setattr(self, name, arr)
        self.n_epochs_ = epoch
        self.best_epoch_ = best_epoch if best_state is not None else epoch
        self.loss_history_ = np.asarray(history)

    def _check_divergence(self, loss: float, epoch: int, first: float | None, lr: float) -> None:
        hint = f"try a lower learning rate than lr={lr:g}"
        self.check_loss(loss, epoch, hint)
        if first is not None and loss > EXPLOSION_FACTOR * max(first, 1e-12):
            raise TrainingDiverged(
                f"training diverged at epoch {epoch} (loss {loss:.4g} exploded from "
                f"{first:.4g} in epoch 1); {hint}"
            )

    def _validation_pairs(
        self, validation: Interactions
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not isinstance(validation, Interactions):
            raise DataError(
                f"{self.owner()}: validation must be Interactions, got {type(validation)!r}"
            )
        if len(validation) == 0:
            raise DataError(f"{self.owner()}: the validation set is empty")
        if validation.users != self.users_ or validation.items != self.items_:
            validation = validation.align_to(self.users_, self.items_)
        return rating_arrays(validation)

    def _rmse(self, users: np.ndarray, items: np.ndarray, values: np.ndarray) -> float:
        pred = self._predict_pairs(users, items)
        if self.rating_scale_ is not None:
            pred = np.clip(pred, *self.rating_scale_)
        return float(np.sqrt(np.mean((pred.astype(np.float64) - values) ** 2)))

    def _shuffled(
        self, users: np.ndarray, items: np.ndarray, values: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ratings in a fresh random order (one permutation from ``rng``)."""
        order = rng.permutation(len(values))
        out = (np.empty_like(users), np.empty_like(items), np.empty_like(values))
        self._kernels().gather(order, users, items, values, *out)
        return out

    # -- new users ------------------------------------------------------------------------
    def _fold_in(self, history: sp.csr_matrix) -> UserState:
        epochs = self._fold_in_now.get("n_epochs") or self.params.fold_in_epochs
        factors, bias = self._fold_in_users(history, epochs)
        return {"factors": factors, "bias": bias}

    @property
    def _fold_in_now(self) -> dict[str, Any]:
        """Per-call overrides of the fold-in settings (set by `update_users`)."""
        return self.__dict__.get("_fold_in_override", {})

    def _fold_in_lr(self) -> float:
        """Learning rate of fold-in: the model's first-epoch rate unless overridden."""
        return self._fold_in_now.get("lr") or self._base_lr()

    def _fold_in_rng(self) -> np.random.Generator:
        """Shuffle order of fold-in: fixed by the seed, so fold-in is deterministic."""
        return np.random.default_rng([self.params.seed, 1])

    def update_users(
        self,
        new_interactions: Interactions,
        n_epochs: int | None = None,
        lr: float | None = None,
    ) -> Any:
        """Add new users, or refresh known ones, from their ratings with items frozen.

        A known user's parameters are recomputed from the ratings given here (pass all of
        that user's ratings, not only the changed ones); new users are appended to
        ``users_``. Ratings of items the model does not know are ignored. ``n_epochs``
        defaults to ``fold_in_epochs``, ``lr`` to the model's learning rate. Returns self.
        """
        self.check_fitted()
        epochs = self.params.fold_in_epochs if n_epochs is None else n_epochs
        if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
            raise ParamError(f"update_users: n_epochs must be an integer >= 1, got {n_epochs!r}")
        if lr is not None and not (isinstance(lr, int | float) and 0 < lr < float("inf")):
            raise ParamError(f"update_users: lr must be a number > 0, got {lr!r}")
        if not isinstance(new_interactions, Interactions) or len(new_interactions) == 0:
            raise DataError("update_users: expected non-empty Interactions")
        self._fold_in_override = {"n_epochs": int(epochs), "lr": lr}
        try:
            folded = self.fold_in(new_interactions)
        finally:
            del self._fold_in_override
        self.users_ = self.users_.extend(folded.ids)
        rows = self.users_.index_of(folded.ids)
        n_new = len(self.users_) - self.n_users_
        if n_new:
            f = self.user_factors_.shape[1]
            self.user_factors_ = np.vstack(
                [self.user_factors_, np.zeros((n_new, f), self.user_factors_.dtype)]
            )
            self.user_bias_ = np.concatenate([self.user_bias_, np.zeros(n_new, np.float32)])
            self.user_counts_ = np.concatenate([self.user_counts_, np.zeros(n_new, np.int32)])
        self.user_factors_[rows] = folded.state["factors"]
        self.user_bias_[rows] = folded.state["bias"]
        self.user_counts_[rows] = np.diff(folded.seen.indptr).astype(np.int32)
        self.n_users_ = len(self.users_)
        self.seen_ = _replace_rows(self.seen_, rows, folded.seen, self.n_users_)
        return self


def _replace_rows(
    seen: sp.csr_matrix, rows: np.ndarray, new: sp.csr_matrix, n_rows: int
) -> sp.csr_matrix:
    """``seen`` grown to ``n_rows`` rows, with ``rows`` replaced by the rows of ``new``."""
    keep = np.ones(n_rows, dtype=bool)
    keep[rows] = False
    old = seen.tocoo()
    mask = keep[old.row]
    add = new.tocoo()
    r = np.concatenate([old.row[mask], np.asarray(rows)[add.row]])
    c = np.concatenate([old.col[mask], add.col])
    out = sp.csr_matrix((np.ones(len(r), dtype=np.bool_), (r, c)), shape=(n_rows, seen.shape[1]))
    out.sort_indices()
    return out
