"""timeSVD++ (Koren 2009), its bias-only form, and SVD++ with side information.

- ``timesvdpp``: SVD++ plus time-dependent biases: item bias by time bin ``b_{i,bin(t)}``,
  user drift ``alpha_u dev_u(t)`` and (``day_bias``) a day-specific user bias ``b_{u,t}``.
- ``timebiases``: the same biases without factors.
- ``svdpp-attr``: SVD++ whose user vector adds attribute factors (age, gender, occupation) and
  whose item vector adds attribute factors (genres, year), with attribute biases: a cold user
  or item gets a prediction from its attributes. ``timesvdpp attributes=true`` combines both.

All share one compiled kernel (`_hybrid_kernels`) and `SGDModel`'s loop: callback and
curves, divergence guard, early stopping, validation. After training, the attribute parts are
added into ``user_factors_``/``user_bias_``/``item_factors_``/``item_bias_`` (what scoring
and fold-in use); time terms are added when a pair's timestamp is known
(``predict(..., timestamps=...)``, the evaluation) and taken at the end of the training
period otherwise (ranking). See timeline.py for units and extrapolation.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from pydantic import Field, create_model

from workbench.attributes import Attributes
from workbench.capabilities import ColdStart
from workbench.data import Interactions
from workbench.errors import DataError
from workbench.model import TrainingCallback
from workbench.params import Params
from workbench.user_state import UserState, grow_rows
from workbench_sgd.base import Ratings, SGDModel, SGDParams, UserParams
from workbench_sgd.svdpp import SVDppParams
from workbench_sgd.timeline import Timeline, day_keys, lookup


@dataclass(frozen=True)
class TimedRatings(Ratings):
    """Ratings with, per rating, the item-bias bin (-1: none), the scaled user drift
    ``dev_u(t)`` (0: none) and the (user, day) slot (-1: none)."""

    bins: np.ndarray
    dev: np.ndarray
    days: np.ndarray

    def subset(self, mask: np.ndarray) -> TimedRatings:
        return TimedRatings(
            self.users[mask],
            self.items[mask],
            self.values[mask],
            self.bins[mask],
            self.dev[mask],
            self.days[mask],
        )

    def take(self, order: np.ndarray) -> TimedRatings:
        return self.subset(order)

    @classmethod
    def untimed(cls, r: Ratings, bin_: int) -> TimedRatings:
        n = len(r)
        return cls(
            r.users,
            r.items,
            r.values,
            np.full(n, bin_, dtype=np.int32),
            np.zeros(n, dtype=np.float32),
            np.full(n, -1, dtype=np.int32),
        )


@dataclass
class Context:
    """What an epoch needs besides the learned arrays (training or fold-in)."""

    rated: tuple[np.ndarray, np.ndarray]  # N(u): indptr int64, indices int32
    user_attr: sp.csr_matrix  # users x user features (rows of the users of this pass)
    item_attr: sp.csr_matrix  # items x item features (empty columns in fold-in: baked in)
    drift: np.ndarray  # alpha of the users of this pass
    day_bias: np.ndarray
    #: After training: the attribute parts (user factors, user biases, item factors, item
    #: biases) that cold users and items get.
    cold_parts: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None


def _without(base: type[Params], drop: set[str], name: str) -> type[Params]:
    fields = {
        k: (f.annotation, copy.copy(f)) for k, f in base.model_fields.items() if k not in drop
    }
    return create_model(name, __base__=Params, __module__=__name__, **fields)  # type: ignore


class _TimeFields(Params):
    n_bins: int = Field(4, ge=1, le=10000, description="time bins of the item bias b_{i,bin(t)}")
    beta: float = Field(
        0.4, gt=0, le=1, description="exponent of the user drift dev_u(t) = sign|t - t_u|^beta"
    )
    day_bias: bool = Field(True, description="learn a day-specific user bias b_{u,t}")
    reg_bin: float = Field(5.0, ge=0, description="L2 regularisation of the bin biases b_{i,bin}")
    reg_drift: float = Field(0.05, ge=0, description="L2 regularisation of the drift alpha_u")
    reg_day: float = Field(0.2, ge=0, description="L2 regularisation of the day biases b_{u,t}")
    drift_lr_ratio: float = Field(
        0.01, gt=0, description="learning rate of the drift alpha_u, relative to lr"
    )


class _AttrFields(Params):
    attributes: bool = Field(
        False, description="add user/item attribute factors and biases (side information)"
    )
    reg_attr: float = Field(
        0.05, ge=0, description="L2 regularisation of the attribute factors and biases"
    )


class TimeSVDppParams(_AttrFields, _TimeFields, SVDppParams):
    pass


class SVDppAttrParams(_AttrFields, SVDppParams):
    attributes: bool = Field(True, description="add user/item attribute factors and biases")


_BiasOnly = _without(
    SGDParams, {"n_factors", "reg", "init_std"}, "TimeBiasesBase"
).with_defaults(lr=0.007, lr_decay=0.96, n_epochs=30)


class TimeBiasesParams(_TimeFields, _BiasOnly):  # type: ignore[misc, valid-type]
    pass


def _normalised(m: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled by |row|^-1/2 (the kernel's attribute normalisation)."""
    counts = np.diff(m.indptr)
    scale = np.where(counts > 0, 1.0 / np.sqrt(np.maximum(counts, 1)), 0.0).astype(np.float32)
    return sp.csr_matrix(sp.diags(scale) @ m, dtype=np.float32)


def _spread(m: sp.csr_matrix, table: np.ndarray) -> np.ndarray:
    """``m @ table`` as float32, shaped (rows, *table.shape[1:]) even when empty."""
    if m.shape[1] == 0 or table.size == 0:
        return np.zeros((m.shape[0], *table.shape[1:]), dtype=np.float32)
    return np.asarray(m @ table, dtype=np.float32)


def _csr_parts(m: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    return m.indptr.astype(np.int64), m.indices.astype(np.int32)


class HybridSVDpp(SGDModel):
    """Base of ``timesvdpp``, ``timebiases`` and ``svdpp-attr`` (not registered itself)."""

    #: Whether the model learns time terms (and needs timestamps).
    temporal: ClassVar[bool] = False
    #: Whether the model has factors (``timebiases`` has none).
    factored: ClassVar[bool] = True
    state_version = 1
    capabilities = SGDModel.capabilities.replace(
        cold_start=ColdStart(
            user="its attributes' factors and biases when attributes are on (else zero): "
            "mu + b_i (+ attribute terms)",
            item="its attributes' factors and biases when attributes are on (else zero): "
            "mu + b_u (+ attribute terms)",
        )
    )
    _param_names = (
        "user_bias_",
        "item_bias_",
        "user_factors_",
        "item_factors_",
        "implicit_",
        "item_bin_bias_",
        "user_drift_",
        "user_day_bias_",
        "user_attr_factors_",
        "user_attr_bias_",
        "item_attr_factors_",
        "item_attr_bias_",
    )

    def _n_factors(self) -> int:
        return int(self.params.n_factors) if self.factored else 0

    def _uses_attributes(self) -> bool:
        return bool(getattr(self.params, "attributes", False))

    # -- set-up -----------------------------------------------------------------------------
    def missing_data(self, data: Interactions) -> str | None:
        if self.temporal and data.timestamp is None:
            return (
                f"timestamps, but dataset {data.name!r} has none "
                "(tabular: give the column with timestamp=COLUMN)"
            )
        if self._uses_attributes() and data.user_attributes is None and (
            data.item_attributes is None
        ):
            return (
                f"user or item attributes (attributes=true), but dataset {data.name!r} has none "
                "(movielens loads them; tabular takes user_attributes=FILE and "
                "item_attributes=FILE)"
            )
        return None

    def _fit(
        self,
        train: Interactions,
        *,
        callback: TrainingCallback,
        validation: Interactions | None,
    ) -> None:
        p = self.params
        missing = self.missing_data(train)
        if missing is not None:
            raise DataError(f"{self.owner()} needs {missing}")
        if self.temporal:
            tl = Timeline.fit(train.timestamp, p.n_bins, p.beta, f"{self.owner()}: {train.name}")
            days = tl.days(train.timestamp, train.name)
            n = np.bincount(train.user, minlength=self.n_users_)
            sums = np.bincount(train.user, weights=days, minlength=self.n_users_)
            self.user_tmean_ = (sums / np.maximum(n, 1)).astype(np.float64)
            raw = tl.raw_dev(days, self.user_tmean_[train.user])
            scale = float(np.mean(np.abs(raw))) if len(raw) else 1.0
            self.timeline_ = tl.with_dev_scale(scale if scale > 0 else 1.0)
            keys = np.unique(day_keys(train.user, days)) if p.day_bias else np.empty(0, np.int64)
            self.user_day_keys_ = keys[keys >= 0]
        self._set_attribute_tables(train)
        super()._fit(train, callback=callback, validation=validation)

    def _finish_training(self, context: Context) -> None:
        """Cold users and items get their attributes' parts (zero without attributes)."""
        assert context.cold_parts is not None  # set by _end_training
        ua, ub, ia, ib = context.cold_parts
        cold_u = self.user_counts_ == 0
        cold_i = self.item_counts_ == 0
        self.user_factors_[cold_u] = ua[cold_u]
        self.user_bias_[cold_u] = ub[cold_u]
        self.item_factors_[cold_i] = ia[cold_i]
        self.item_bias_[cold_i] = ib[cold_i]
        if self.temporal:
            self.user_drift_[cold_u] = 0.0
            self.user_has_time_ = ~cold_u

    def _after_fit(self) -> None:
        """Cold rows were set in `_fit` (their attribute prediction): nothing to zero."""

    def _set_attribute_tables(self, train: Interactions) -> None:
        """``user_features_``/``item_features_`` (names) and the training attribute matrices."""
        empty = np.array([], dtype=str)
        self.user_features_, self.item_features_ = empty, empty
        n_u, n_i = self.n_users_, self.n_items_
        u_mat = sp.csr_matrix((n_u, 0), dtype=np.float32)
        i_mat = sp.csr_matrix((n_i, 0), dtype=np.float32)
        if self._uses_attributes():
            ua, ia = train.user_attributes, train.item_attributes
            if ua is not None:
                self.user_features_ = np.asarray(ua.features, dtype=str)
                u_mat = ua.matrix(train.users.ids)
            if ia is not None:
                self.item_features_ = np.asarray(ia.features, dtype=str)
                i_mat = ia.matrix(train.items.ids)
        self._attr_mats = (u_mat, i_mat)

    def _ratings(self, data: Interactions) -> TimedRatings:
        r = Ratings.of(data)
        if not self.temporal:
            return TimedRatings.untimed(r, -1)
        if data.timestamp is None:
            raise DataError(
                f"{self.owner()}: the validation data {data.name!r} has no timestamps"
            )
        return TimedRatings(r.users, r.items, r.values, *self._time_terms(r.users, data.timestamp))

    def _time_terms(
        self, users: np.ndarray, timestamps: np.ndarray | None, *, rows: np.ndarray | None = None,
        mean_day: np.ndarray | None = None, drift_known: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bins, dev, day slots) for pairs of known user indices (out of range: no user
        terms). Without timestamps: the end of the training period, no day slot."""
        tl: Timeline = self.timeline_
        n = len(users)
        if timestamps is None:
            days = np.full(n, tl.end)
        else:
            days = tl.days(timestamps, f"{self.owner()}: predict")
        inside = (users >= 0) & (users < len(self.user_tmean_))
        safe = np.where(inside, users, 0)
        tmean = self.user_tmean_[safe] if mean_day is None else mean_day
        dev = np.where(inside if drift_known is None else drift_known, tl.dev(days, tmean), 0.0)
        if timestamps is None or len(self.user_day_keys_) == 0:
            slots = np.full(n, -1, dtype=np.int32)
        else:
            row = np.where(inside, users, -1) if rows is None else rows
            slots = np.where(row >= 0, lookup(self.user_day_keys_, day_keys(row, days)), -1)
        return tl.bins(days), dev.astype(np.float32), slots.astype(np.int32)

    # -- the SGDModel hooks -------------------------------------------------------------------
    def _init_params(self, ratings: Ratings, rng: np.random.Generator) -> Context:
        p = self.params
        f = self._n_factors()
        std = float(getattr(p, "init_std", 0.01))
        nu, ni = self.n_users_, self.n_items_
        self.user_factors_ = rng.normal(0.0, std, (nu, f)).astype(np.float32)
        self.item_factors_ = rng.normal(0.0, std, (ni, f)).astype(np.float32)
        self.implicit_ = rng.normal(0.0, std, (ni, f)).astype(np.float32)
        self.implicit_[np.bincount(ratings.items, minlength=ni) == 0] = 0.0
        self.user_bias_ = np.zeros(nu, dtype=np.float32)
        self.item_bias_ = np.zeros(ni, dtype=np.float32)
        n_bins = self.timeline_.n_bins if self.temporal else 0
        self.item_bin_bias_ = np.zeros((ni, n_bins), dtype=np.float32)
        self.user_drift_ = np.zeros(nu, dtype=np.float32)
        n_days = len(self.user_day_keys_) if self.temporal else 0
        self.user_day_bias_ = np.zeros(n_days, dtype=np.float32)
        u_mat, i_mat = self.__dict__.pop("_attr_mats")
        self.user_attr_factors_ = np.zeros((u_mat.shape[1], f), dtype=np.float32)
        self.user_attr_bias_ = np.zeros(u_mat.shape[1], dtype=np.float32)
        self.item_attr_factors_ = np.zeros((i_mat.shape[1], f), dtype=np.float32)
        self.item_attr_bias_ = np.zeros(i_mat.shape[1], dtype=np.float32)
        rated = sp.csr_matrix(
            (np.ones(len(ratings), dtype=np.float32), (ratings.users, ratings.items)),
            shape=(nu, ni),
        )
        rated.sort_indices()
        return Context(
            _csr_parts(rated), u_mat, i_mat, self.user_drift_, self.user_day_bias_
        )

    def _epoch(
        self,
        context: Context,
        ratings: Ratings,
        rng: np.random.Generator,
        lr: float,
        users: UserParams,
    ) -> float:
        from workbench_sgd._hybrid_kernels import hybrid_epoch

        p = self.params
        r: TimedRatings = ratings  # type: ignore[assignment]
        perm = rng.permutation(len(r))
        rank = rng.permutation(int(r.users.max()) + 1)
        g = r.take(perm[np.argsort(rank[r.users[perm]], kind="stable")])
        ua_ptr, ua_idx = _csr_parts(context.user_attr)
        ia_ptr, ia_idx = _csr_parts(context.item_attr)
        item_attr_f = self.item_attr_factors_ if context.item_attr.shape[1] else np.zeros(
            (0, self.item_factors_.shape[1]), dtype=np.float32
        )
        item_attr_b = self.item_attr_bias_ if context.item_attr.shape[1] else np.zeros(
            0, dtype=np.float32
        )
        return hybrid_epoch(
            g.users, g.items, g.values, g.bins, g.dev, g.days,
            *context.rated, ua_ptr, ua_idx, ia_ptr, ia_idx,
            np.float32(self.global_mean_), users.bias, self.item_bias_, self.item_bin_bias_,
            context.drift, context.day_bias, self.user_attr_bias_, item_attr_b,
            users.factors, self.item_factors_, self.implicit_, self.user_attr_factors_,
            item_attr_f,
            np.float32(lr), np.float32(lr * getattr(p, "drift_lr_ratio", 1.0)),
            np.float32(getattr(p, "reg", 0.0)), np.float32(p.reg_bias),
            np.float32(getattr(p, "reg_implicit", 0.0)), np.float32(getattr(p, "reg_bin", 0.0)),
            np.float32(getattr(p, "reg_drift", 0.0)), np.float32(getattr(p, "reg_day", 0.0)),
            np.float32(getattr(p, "reg_attr", 0.0)), users.update_items,
        )  # fmt: skip

    def _effective(self, context: Context) -> tuple[np.ndarray, ...]:
        """(user attribute factors, user attribute bias, item ditto) of every user/item,
        and the users' SVD++ factors p_u + |N(u)|^-1/2 sum y_j."""
        from workbench_sgd._svdpp_kernels import effective_factors

        ua = _normalised(context.user_attr)
        ia = _normalised(context.item_attr)
        u_f = _spread(ua, self.user_attr_factors_)
        u_b = _spread(ua, self.user_attr_bias_)
        i_f = _spread(ia, self.item_attr_factors_)
        i_b = _spread(ia, self.item_attr_bias_)
        p_eff = effective_factors(self.user_factors_, *context.rated, self.implicit_)
        return u_f, u_b, i_f, i_b, p_eff

    def _predict_pairs(self, context: Context, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predictions during training without the time terms (`_rmse` adds them)."""
        u_f, u_b, i_f, i_b, p_eff = self._effective(context)
        inside_u = users < self.n_users_
        inside_i = items < self.n_items_
        u = np.where(inside_u, users, 0)
        i = np.where(inside_i, items, 0)
        pu = (p_eff[u] + u_f[u]) * inside_u[:, None]
        qi = (self.item_factors_[i] + i_f[i]) * inside_i[:, None]
        pred = np.einsum("ij,ij->i", pu, qi) + self.global_mean_
        pred += (self.user_bias_[u] + u_b[u]) * inside_u + (self.item_bias_[i] + i_b[i]) * inside_i
        return pred

    def _rmse(self, context: Context, val: Ratings) -> float:
        r: TimedRatings = val  # type: ignore[assignment]
        pred = self._predict_pairs(context, r.users, r.items)
        inside_u = r.users < self.n_users_
        inside_i = r.items < self.n_items_
        u = np.where(inside_u, r.users, 0)
        i = np.where(inside_i, r.items, 0)
        pred += self._time_part(u, i, inside_u, inside_i, r.bins, r.dev, r.days)
        if self.rating_scale_ is not None:
            pred = np.clip(pred, *self.rating_scale_)
        return float(np.sqrt(np.mean((pred.astype(np.float64) - r.values) ** 2)))

    def _time_part(
        self, u: np.ndarray, i: np.ndarray, inside_u: np.ndarray, inside_i: np.ndarray,
        bins: np.ndarray, dev: np.ndarray, slots: np.ndarray,
    ) -> np.ndarray:
        if not self.temporal:
            return np.zeros(len(u), dtype=np.float32)
        out = self.item_bin_bias_[i, np.maximum(bins, 0)] * (inside_i & (bins >= 0))
        out = out + self.user_drift_[u] * dev * inside_u
        if len(self.user_day_bias_):
            out = out + np.where(slots >= 0, self.user_day_bias_[np.maximum(slots, 0)], 0.0)
        return out.astype(np.float32)

    def _end_training(self, context: Context) -> None:
        u_f, u_b, i_f, i_b, p_eff = self._effective(context)
        self.user_factors_ = p_eff + u_f
        self.user_bias_ = self.user_bias_ + u_b
        self.item_factors_ = self.item_factors_ + i_f
        self.item_bias_ = self.item_bias_ + i_b
        context.cold_parts = (u_f, u_b, i_f, i_b)

    # -- scoring ------------------------------------------------------------------------------
    def _user_state(self, users: np.ndarray) -> UserState:
        state = super()._user_state(users)
        if not self.temporal:
            return state
        inside = users >= 0
        safe = np.where(inside, users, 0)
        timed = inside & self.user_has_time_[safe]
        return UserState.of(
            factors=state["factors"],
            bias=state["bias"],
            drift=np.where(timed, self.user_drift_[safe], 0.0).astype(np.float32),
            tmean=np.where(timed, self.user_tmean_[safe], 0.0),
            row=np.where(timed, users, -1).astype(np.int64),
        )

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        scores = super()._score(state, items)
        if not self.temporal:
            return scores
        tl: Timeline = self.timeline_
        last = tl.bins(np.array([tl.end]))[0]
        dev = tl.dev(np.full(len(state), tl.end), state["tmean"]) * state["drift"]
        return scores + self.item_bin_bias_[items, last][None, :] + dev[:, None]

    def _score_pairs(
        self, state: UserState, items: np.ndarray, timestamps: np.ndarray | None = None
    ) -> np.ndarray:
        scores = super()._score_pairs(state, items)
        if not self.temporal:
            return scores
        rows = state["row"]
        bins, dev, slots = self._time_terms(
            rows, timestamps, rows=rows, mean_day=state["tmean"], drift_known=rows >= 0
        )
        inside_i = items >= 0
        i = np.where(inside_i, items, 0)
        out = self.item_bin_bias_[i, bins] * inside_i + state["drift"] * dev
        if len(self.user_day_bias_):
            out = out + np.where(slots >= 0, self.user_day_bias_[np.maximum(slots, 0)], 0.0)
        return scores + out.astype(np.float32)

    # -- new users ----------------------------------------------------------------------------
    def _fold_in_side_information(self, history: Interactions, user_ids: np.ndarray) -> Any:
        """The folded users' attribute rows, from ``history.user_attributes`` (features the
        model did not see are ignored); None without attributes."""
        attrs: Attributes | None = history.user_attributes
        if attrs is None or not len(self.user_features_):
            return None
        return attrs.matrix(user_ids, self.user_features_.tolist())

    def _fold_in(
        self, history: sp.csr_matrix, *, side: sp.csr_matrix | None = None, **options: Any
    ) -> UserState:
        """New users' factors and biases by SGD over their ratings (items, attribute tables
        and time terms frozen; no timestamps reach fold-in: dates are the end of training);
        ``side``: their attribute rows (`_fold_in_side_information`)."""
        n_epochs, lr = self._fold_in_schedule(options)
        n = history.shape[0]
        f = self.item_factors_.shape[1]
        attr_rows = side
        if attr_rows is None:
            attr_rows = sp.csr_matrix((n, len(self.user_features_)), dtype=np.float32)
        folded = UserParams(
            bias=np.zeros(n, dtype=np.float32),
            factors=np.zeros((n, f), dtype=np.float32),
            update_items=False,
        )
        context = Context(
            (history.indptr.astype(np.int64), history.indices.astype(np.int32)),
            attr_rows,
            sp.csr_matrix((self.n_items_, 0), dtype=np.float32),
            np.zeros(n, dtype=np.float32),
            np.zeros(0, dtype=np.float32),
        )
        if n:
            last = -1
            if self.temporal:
                last = int(self.timeline_.bins(np.array([self.timeline_.end]))[0])
            ratings = TimedRatings.untimed(Ratings.of_rows(history), last)
            rng = np.random.default_rng([self.params.seed, 1])
            for _ in range(n_epochs):
                self._epoch(context, ratings, rng, lr, folded)
        from workbench_sgd._svdpp_kernels import effective_factors

        ua = _normalised(attr_rows)
        factors = effective_factors(folded.factors, *context.rated, self.implicit_)
        factors = factors + _spread(ua, self.user_attr_factors_)
        bias = folded.bias + _spread(ua, self.user_attr_bias_)
        if not self.temporal:
            return UserState.of(factors=factors, bias=bias)
        return UserState.of(
            factors=factors,
            bias=bias,
            drift=np.zeros(n, dtype=np.float32),
            tmean=np.zeros(n),
            row=np.full(n, -1, dtype=np.int64),
        )

    def _set_user_rows(self, rows: np.ndarray, state: UserState, n_users: int) -> None:
        super()._set_user_rows(rows, state, n_users)
        if not self.temporal:
            return
        self.user_drift_ = grow_rows(self.user_drift_, n_users)
        self.user_tmean_ = grow_rows(self.user_tmean_, n_users)
        self.user_has_time_ = grow_rows(self.user_has_time_, n_users)
        self.user_drift_[rows] = state["drift"]
        self.user_tmean_[rows] = state["tmean"]
        self.user_has_time_[rows] = False

    # -- files --------------------------------------------------------------------------------
    def _state_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            **super()._state_arrays(),
            "implicit_factors": self.implicit_,
            "user_features": self.user_features_,
            "item_features": self.item_features_,
            "user_attr_factors": self.user_attr_factors_,
            "user_attr_bias": self.user_attr_bias_,
            "item_attr_factors": self.item_attr_factors_,
            "item_attr_bias": self.item_attr_bias_,
        }
        if self.temporal:
            arrays.update(
                timeline=self.timeline_.as_array(),
                item_bin_bias=self.item_bin_bias_,
                user_drift=self.user_drift_,
                user_tmean=self.user_tmean_,
                user_has_time=self.user_has_time_,
                user_day_keys=self.user_day_keys_,
                user_day_bias=self.user_day_bias_,
            )
        return arrays

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        super()._set_state_arrays(arrays)
        self.implicit_ = np.asarray(arrays["implicit_factors"])
        self.user_features_ = np.asarray(arrays["user_features"], dtype=str)
        self.item_features_ = np.asarray(arrays["item_features"], dtype=str)
        for name in ("user_attr_factors", "user_attr_bias", "item_attr_factors", "item_attr_bias"):
            setattr(self, f"{name}_", np.asarray(arrays[name]))
        if self.temporal:
            self.timeline_ = Timeline.from_array(np.asarray(arrays["timeline"]))
            self.item_bin_bias_ = np.asarray(arrays["item_bin_bias"])
            self.user_drift_ = np.asarray(arrays["user_drift"])
            self.user_tmean_ = np.asarray(arrays["user_tmean"])
            self.user_has_time_ = np.asarray(arrays["user_has_time"], dtype=bool)
            self.user_day_keys_ = np.asarray(arrays["user_day_keys"], dtype=np.int64)
            self.user_day_bias_ = np.asarray(arrays["user_day_bias"])


class TimeSVDpp(HybridSVDpp):
    """timeSVD++: SVD++ with item bias by time bin, user drift alpha_u dev_u(t) and a
    day-specific user bias; needs timestamps (predictions use each pair's date)."""

    name = "timesvdpp"
    Params = TimeSVDppParams
    temporal = True
    capabilities = HybridSVDpp.capabilities.replace(uses_timestamps=True)


class TimeBiases(HybridSVDpp):
    """Time-dependent baseline: mu + b_u + alpha_u dev_u(t) + b_{u,t} + b_i + b_{i,bin(t)}."""

    name = "timebiases"
    Params = TimeBiasesParams
    temporal = True
    capabilities = HybridSVDpp.capabilities.replace(uses_timestamps=True, similar_items=False)
    factored = False

    def item_embeddings(self) -> None:  # type: ignore[override]
        return None


class SVDppAttr(HybridSVDpp):
    """SVD++ with side information: user attributes (age, gender, occupation) and item
    attributes (genres, year) as extra factors and biases; cold users/items are predicted
    from their attributes."""

    name = "svdpp-attr"
    Params = SVDppAttrParams

