"""The training loop shared by the SGD models: epochs, progress, divergence, early stopping
and fold-in (one loop for every model of the family).

A subclass provides the model-specific pieces — `_init_params` (the learned arrays, and any
training-only context such as SVD++'s rated-items matrix, returned rather than kept on the
model), `_epoch` (one shuffled pass, for training or for fold-in with items frozen),
`_predict_pairs` (validation during training; the biased dot product by default) — and its
parameter defaults through
``SGDParams.with_defaults``. The loop here reports every epoch through the callback
(`EpochInfo` with the training loss and, when there is validation data, the validation RMSE),
stops with `TrainingDiverged` when the loss is NaN or explodes, and restores the best epoch
when early stopping is on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.data import Interactions
from workbench.errors import DataError, ParamError
from workbench.factor.embedding import RatingFactorModel
from workbench.factor.fold_in import gradient_schedule
from workbench.model import DivergenceGuard, EpochInfo, TrainingCallback
from workbench.params import Params
from workbench.user_state import UserState


class SGDParams(Params):
    """Parameters every SGD model has (subclasses change defaults with `with_defaults`)."""

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


@dataclass(frozen=True)
class Ratings:
    """(user int32, item int32, value float32) contiguous arrays of one training pass."""

    users: np.ndarray
    items: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, data: Interactions) -> Ratings:
        return cls(
            np.ascontiguousarray(data.user, dtype=np.int32),
            np.ascontiguousarray(data.item, dtype=np.int32),
            np.ascontiguousarray(data.value, dtype=np.float32),
        )

    @classmethod
    def of_rows(cls, history: sp.csr_matrix) -> Ratings:
        """The ratings of the rows of a users x items matrix (fold-in)."""
        users = np.repeat(np.arange(history.shape[0], dtype=np.int32), np.diff(history.indptr))
        return cls(users, history.indices.astype(np.int32), history.data.astype(np.float32))

    def __len__(self) -> int:
        return len(self.values)

    def subset(self, mask: np.ndarray) -> Ratings:
        return Ratings(self.users[mask], self.items[mask], self.values[mask])


@dataclass
class UserParams:
    """The per-user arrays an epoch updates: the model's own (training) or a fold-in's."""

    bias: np.ndarray
    factors: np.ndarray
    update_items: bool


def rating_arrays(data: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user int32, item int32, value float32) contiguous copies."""
    r = Ratings.of(data)
    return r.users, r.items, r.values


class SGDModel(RatingFactorModel):
    """Base of the SGD-trained factor models (not registered itself)."""

    capabilities = RatingFactorModel.capabilities.replace(fold_in="gradient", jit_warm_up=True)

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

    def _init_params(self, ratings: Ratings, rng: np.random.Generator) -> Any:
        """Set the learned arrays to their initial values; returns the training context
        (anything `_epoch`, `_predict_pairs` and `_end_training` need; None by default)."""
        raise NotImplementedError  # abstractmethod

    def _epoch(
        self,
        context: Any,
        ratings: Ratings,
        rng: np.random.Generator,
        lr: float,
        users: UserParams,
    ) -> float:
        """One pass over ``ratings`` (shuffled with ``rng``) updating ``users`` (and the item
        parameters when ``users.update_items``); returns the sum of squared errors."""
        raise NotImplementedError  # abstractmethod

    def _predict_pairs(self, context: Any, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predictions for index pairs during training (out-of-range indices are cold); by
        default ``mu + b_u + b_i + p_u . q_i`` with the factors `_fold_in_factors` gives."""
        return self._kernels().mf_predict(
            users=users,
            items=items,
            mu=np.float32(self.global_mean_),
            bu=self.user_bias_,
            bi=self.item_bias_,
            p=self._fold_in_factors(context, self.user_factors_),
            q=self.item_factors_,
        )

    def _update_args(self, users: UserParams, lr: float) -> dict[str, Any]:
        """Keyword arguments every SGD kernel shares: what it updates, the step, the penalties."""
        p = self.params
        return {
            "bu": users.bias,
            "bi": self.item_bias_,
            "p": users.factors,
            "q": self.item_factors_,
            "lr": np.float32(lr),
            "reg": np.float32(p.reg),
            "reg_bias": np.float32(p.reg_bias),
            "update_items": users.update_items,
        }

    def _ratings(self, data: Interactions) -> Ratings:
        """The ratings of a training or validation set (a subclass may carry more per rating,
        e.g. time, in a `Ratings` subclass with its own ``subset``)."""
        return Ratings.of(data)

    def _base_lr(self) -> float:
        """The learning rate of the first epoch (and of fold-in)."""
        return self.params.lr

    def _epoch_ratings(self, ratings: Ratings) -> Ratings:
        """The training ratings as the epochs take them (default: as given; a model with a
        blocked epoch order sorts them by user here, once)."""
        return ratings

    def _end_training(self, context: Any) -> None:
        """Turn the training arrays into the fitted state (default: nothing to do)."""

    def _finish_training(self, context: Any) -> None:
        """The last step of `_fit`, after untrained users/items were zeroed, with the training
        context still at hand (training state lives there, never on the model; default:
        nothing to do)."""

    def _fold_in_context(self, history: sp.csr_matrix) -> Any:
        """The context `_epoch` needs for fold-in users (default: None)."""
        return None

    def _fold_in_factors(self, context: Any, factors: np.ndarray) -> np.ndarray:
        """The factors fold-in returns (default: as trained)."""
        return factors

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
        p = self.params
        rng = np.random.default_rng(p.seed)
        ratings = self._ratings(train)
        val = None
        if validation is not None:
            val = self._validation_ratings(validation)
        elif p.validation_fraction > 0:
            held = rng.random(len(ratings)) < p.validation_fraction
            if held.all() or not held.any():
                raise DataError(
                    f"{self.owner()}: validation_fraction={p.validation_fraction} leaves no "
                    f"training or no validation ratings out of {len(ratings)}"
                )
            val = ratings.subset(held)
            ratings = ratings.subset(~held)
        if p.early_stopping_rounds is not None and val is None:
            raise ParamError(
                f"parameter 'early_stopping_rounds' of {self.owner()} needs validation data: "
                "pass fit(validation=...) or set validation_fraction > 0"
            )
        self.global_mean_ = float(np.mean(ratings.values, dtype=np.float64))
        context = self._init_params(ratings, rng)
        self._train_epochs(context, self._epoch_ratings(ratings), rng, callback, val)
        trained_users = np.bincount(ratings.users, minlength=self.n_users_) > 0
        trained_items = np.bincount(ratings.items, minlength=self.n_items_) > 0
        self._end_training(context)
        for name, mask in (("user", trained_users), ("item", trained_items)):
            getattr(self, f"{name}_factors_")[~mask] = 0.0
            getattr(self, f"{name}_bias_")[~mask] = 0.0
        self._finish_training(context)

    def _train_epochs(
        self,
        context: Any,
        ratings: Ratings,
        rng: np.random.Generator,
        callback: TrainingCallback,
        val: Ratings | None,
    ) -> None:
        p = self.params
        best_rmse, best_epoch, best_state = np.inf, 0, None
        history: list[float] = []
        guard = DivergenceGuard()
        epoch = 0
        for epoch in range(1, p.n_epochs + 1):
            started = time.perf_counter()
            lr = self._base_lr() * p.lr_decay ** (epoch - 1)
            own = UserParams(self.user_bias_, self.user_factors_, update_items=True)
            loss = self._epoch(context, ratings, rng, lr, own) / len(ratings)
            guard.hint = f"try a lower learning rate than lr={lr:g}"
            guard.check(loss, epoch)
            history.append(loss)
            metrics: dict[str, float] = {}
            if val is not None:
                metrics["rmse"] = self._rmse(context, val)
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

    def _validation_ratings(self, validation: Interactions) -> Ratings:
        if not isinstance(validation, Interactions):
            raise DataError(
                f"{self.owner()}: validation must be Interactions, got {type(validation)!r}"
            )
        if len(validation) == 0:
            raise DataError(f"{self.owner()}: the validation set is empty")
        if validation.users != self.users_ or validation.items != self.items_:
            validation = validation.align_to(self.users_, self.items_)
        return self._ratings(validation)

    def _rmse(self, context: Any, val: Ratings) -> float:
        pred = self._predict_pairs(context, val.users, val.items)
        if self.rating_scale_ is not None:
            pred = np.clip(pred, *self.rating_scale_)
        return float(np.sqrt(np.mean((pred.astype(np.float64) - val.values) ** 2)))

    def _shuffled(self, ratings: Ratings, rng: np.random.Generator) -> Ratings:
        """The ratings in a fresh random order (one permutation from ``rng``)."""
        return self._reordered(ratings, rng.permutation(len(ratings)))

    def _by_user(self, ratings: Ratings) -> Ratings:
        """The ratings sorted by user (a counting sort; a user's ratings keep their order)."""
        n_users = int(ratings.users.max()) + 1 if len(ratings) else 0
        return self._reordered(ratings, self._kernels().by_user_order(ratings.users, n_users))

    def _blocked(self, ratings: Ratings, rng: np.random.Generator, block_size: int) -> Ratings:
        """User-sorted ``ratings`` in a blocked random order: blocks of ``block_size``
        consecutive ratings in a random order, each block shuffled (all drawn from ``rng``).
        Each block touches a few users' factors only, which stay in the CPU caches."""
        n_blocks = -(-len(ratings) // block_size)
        block_order = rng.permutation(n_blocks)
        seed = int(rng.integers(2**31 - 1))
        r = ratings
        out = Ratings(np.empty_like(r.users), np.empty_like(r.items), np.empty_like(r.values))
        self._kernels().blocked_gather(
            block_size=block_size,
            block_order=block_order,
            seed=seed,
            users=r.users,
            items=r.items,
            values=r.values,
            out_users=out.users,
            out_items=out.items,
            out_values=out.values,
        )
        return out

    def _reordered(self, ratings: Ratings, order: np.ndarray) -> Ratings:
        """The ratings in the given order (a compiled gather into fresh arrays)."""
        r = ratings
        out = Ratings(np.empty_like(r.users), np.empty_like(r.items), np.empty_like(r.values))
        self._kernels().gather(order, r.users, r.items, r.values, out.users, out.items, out.values)
        return out

    # -- new users ------------------------------------------------------------------------
    def _fold_in_schedule(self, options: dict[str, Any]) -> tuple[int, float]:
        """``(n_epochs, lr)`` of a fold-in: the checked per-call options, else the
        ``fold_in_epochs`` parameter and the training learning rate."""
        return gradient_schedule(options, n_epochs=self.params.fold_in_epochs, lr=self._base_lr())

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        """New users' factors and biases by SGD over their ratings, items frozen; the shuffle
        order is fixed by the seed, so fold-in is deterministic."""
        n_epochs, lr = self._fold_in_schedule(options)
        n = history.shape[0]
        folded = UserParams(
            bias=np.zeros(n, dtype=np.float32),
            factors=np.zeros((n, self.item_factors_.shape[1]), dtype=np.float32),
            update_items=False,
        )
        if n == 0:
            return UserState.of(factors=folded.factors, bias=folded.bias)
        context = self._fold_in_context(history)
        ratings = self._epoch_ratings(Ratings.of_rows(history))
        rng = np.random.default_rng([self.params.seed, 1])
        for _ in range(n_epochs):
            self._epoch(context, ratings, rng, lr, folded)
        factors = self._fold_in_factors(context, folded.factors)
        return UserState.of(factors=factors, bias=folded.bias)
