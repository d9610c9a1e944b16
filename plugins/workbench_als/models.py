"""The ``als`` (explicit, biased) and ``ials`` (implicit, confidence-weighted) models."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.capabilities import Capabilities
from workbench.data import Interactions
from workbench.errors import DataError, ParamError
from workbench.factor.embedding import RankingFactorModel, RatingFactorModel
from workbench.model import EpochInfo, TrainingCallback
from workbench.params import Params
from workbench.threads import limited_threads
from workbench.user_state import UserState
from workbench_als import solvers

N_THREADS = Field(
    None,
    ge=1,
    description="threads of the numba kernels and of BLAS (threadpoolctl) during fit and "
    "fold-in; None: every core",
)


def _epoch_reporter(callback: TrainingCallback, n: int):
    def report(iteration: int, loss: float, seconds: float) -> None:
        callback(EpochInfo(iteration, n, loss, seconds=seconds))

    return report


# -- explicit ------------------------------------------------------------------------------------
#: Iterations of `ALS` by method when ``n_iterations`` is None: variational Bayes converges
#: more slowly (anchor folds: 0.9052 RMSE at 15 iterations, 0.9000 at 25, 0.8992 at 40).
DEFAULT_ITERATIONS = {"map": 15, "vb": 40}


class ALSParams(Params):
    """Defaults: the regularisation the nested search on MovieLens-100k picked in most of its
    inner searches (training folds only; docs/models.md), with 50 factors."""

    n_factors: int = Field(50, ge=1, description="latent factors per user and item")
    n_iterations: int | None = Field(
        None,
        ge=1,
        description="ALS iterations (a user and an item step); None: 15 for method=map, 40 "
        "for method=vb (which converges more slowly)",
    )
    reg: float = Field(
        0.85,
        gt=0,
        description="L2 regularisation of the factors, times each user's (item's) penalty "
        "weight n^reg_exponent + reg_offset for its n ratings; > 0 keeps every system solvable",
    )
    reg_item: float | None = Field(
        None, gt=0, description="regularisation of the item factors (None: same as reg)"
    )
    reg_bias: float = Field(
        0.25, gt=0, description="L2 regularisation of the biases, times the same weight"
    )
    reg_exponent: float = Field(
        0.6,
        ge=0,
        le=1,
        description="each user's (item's) penalty is scaled by n^reg_exponent + reg_offset "
        "for its n ratings: 1 is weighted lambda, 0 a plain ridge; in between, users and items "
        "with few ratings are shrunk relatively more",
    )
    reg_offset: float = Field(
        0.5, ge=0, description="added to every row's penalty weight n^reg_exponent"
    )
    biased: bool = Field(True, description="learn mu + b_u + b_i (false: p_u . q_i only)")
    solver: Literal["cg", "cholesky"] = Field(
        "cg",
        description="conjugate gradient warm-started from the previous iteration (Takács et "
        "al. 2011; same RMSE, faster) or the exact Cholesky solve of each half-step",
    )
    cg_steps: int = Field(3, ge=1, description="conjugate-gradient steps per half-step")
    init_std: float = Field(0.1, gt=0, description="standard deviation of the initial factors")
    method: Literal["map", "vb"] = Field(
        "map",
        description="map: the regularised least squares above; vb: variational Bayes (Lim "
        "and Teh 2007), a Gaussian posterior per user and item whose covariances enter the "
        "other side's solves, priors and noise re-estimated every iteration (reg, reg_item, "
        "reg_bias, reg_exponent, reg_offset, solver and cg_steps are not used)",
    )
    vb_user_covariance: Literal["full", "diagonal"] = Field(
        "full",
        description="method=vb: keep each user's full (f+1)^2 posterior covariance, or only "
        "its diagonal (f+1 numbers per user, for millions of users; item covariances are "
        "always full)",
    )
    n_threads: int | None = N_THREADS
    seed: int = Field(0, ge=0, description="random seed (initial item factors)")


class ALS(RatingFactorModel):
    """Biased MF by alternating least squares with count-weighted regularisation (weighted
    lambda, Zhou et al. 2008, at ``reg_exponent=1, reg_offset=0``; the defaults shrink users
    and items with few ratings more): each half-step solves every user's (item's) ridge
    regression (conjugate gradient, or exactly by Cholesky), in one batched numba call.
    With ``method="vb"`` the same alternating per-row solves fit a variational Bayesian
    posterior instead (Lim and Teh 2007; `solvers.fit_explicit_vb`), with no
    regularisation to tune. Fold-in: the exact user half-step with items frozen (a user
    with no ratings gets zero factors and bias: mu + b_i)."""

    name = "als"
    Params = ALSParams
    #: method="vb": the item posteriors, user prior and noise that fold-in needs.
    vb_posterior_: solvers.VBPosterior | None = None

    capabilities = RatingFactorModel.capabilities.replace(jit_warm_up=True)

    @classmethod
    def capabilities_for(cls, params: Any) -> Capabilities:
        return cls.capabilities.replace(biased=params.biased)

    @property
    def iterations(self) -> int:
        """``n_iterations``, or the method's own default (15 for map, 40 for vb)."""
        p = self.params
        if p.n_iterations is not None:
            return p.n_iterations
        return DEFAULT_ITERATIONS[p.method]

    def _config(self) -> solvers.ExplicitConfig:
        p = self.params
        return solvers.ExplicitConfig(
            n_factors=p.n_factors, n_iterations=self.iterations, reg=p.reg,
            reg_item=p.reg_item, reg_bias=p.reg_bias, reg_exponent=p.reg_exponent,
            reg_offset=p.reg_offset, biased=p.biased, solver=p.solver,
            cg_steps=p.cg_steps, init_std=p.init_std, seed=p.seed, method=p.method,
            vb_user_covariance=p.vb_user_covariance,
        )

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Any
    ) -> None:
        p = self.params
        ratings = solvers.as_csr(train.csr())
        report = _epoch_reporter(callback, self.iterations)
        self.vb_posterior_ = None
        if p.method == "vb":
            if not p.biased:
                raise ParamError(
                    f"{self.owner()}: method='vb' learns the biases; biased=false needs "
                    "method='map'"
                )
            with limited_threads(p.n_threads):
                mu, x, bx, y, by, losses, self.vb_posterior_ = solvers.fit_explicit_vb(
                    ratings, self._config(), report
                )
        else:
            with limited_threads(p.n_threads):
                mu, x, bx, y, by, losses = solvers.fit_explicit(
                    ratings, self._config(), report
                )
        self.global_mean_ = mu
        self.user_factors_, self.user_bias_ = x, bx
        self.item_factors_, self.item_bias_ = y, by
        self.loss_history_ = np.asarray(losses)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        arrays = super()._state_arrays()
        post = self.vb_posterior_
        if self.params.method == "vb" and post is not None:
            arrays["vb_item_cov"] = post.item_cov
            arrays["vb_user_prior_mean"] = post.user_prior_mean
            arrays["vb_user_prior_precision"] = post.user_prior_precision
            arrays["vb_noise_precision"] = np.asarray(post.noise_precision, dtype=np.float64)
        return arrays

    def _set_state_arrays(self, arrays: Any) -> None:
        super()._set_state_arrays(arrays)
        self.vb_posterior_ = None
        if self.params.method == "vb":
            self.vb_posterior_ = solvers.VBPosterior(
                item_cov=np.asarray(arrays["vb_item_cov"]),
                user_prior_mean=np.asarray(arrays["vb_user_prior_mean"]),
                user_prior_precision=np.asarray(arrays["vb_user_prior_precision"]),
                noise_precision=float(arrays["vb_noise_precision"]),
            )

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        p = self.params
        if p.method == "vb" and self.vb_posterior_ is not None:
            with limited_threads(p.n_threads):
                factors, bias = solvers.explicit_vb_fold_in(
                    history, self.global_mean_, self.item_factors_, self.item_bias_,
                    self.vb_posterior_,
                )
            return UserState.of(factors=factors, bias=bias)
        with limited_threads(p.n_threads):
            factors, bias = solvers.explicit_fold_in(
                history, self.global_mean_ if p.biased else 0.0,
                self.item_bias_ if p.biased else np.zeros(self.n_items_, np.float32),
                self.item_factors_, p.reg, p.reg_bias, p.biased,
                reg_exponent=p.reg_exponent, reg_offset=p.reg_offset,
            )
        if p.biased:
            return UserState.of(factors=factors, bias=bias)
        return UserState.of(factors=factors)


# -- implicit ------------------------------------------------------------------------------------
class ImplicitALSParams(Params):
    """Defaults chosen on the MovieLens-100k anchor folds and Last.fm (docs/models.md): the
    frequency-scaled regularisation of Rendle et al. 2022. The defaults before issue 23:
    ``reg=0.1 reg_exponent=0 init_std=0.01``."""

    n_factors: int = Field(64, ge=1, description="latent factors per user and item")
    n_iterations: int = Field(15, ge=1, description="ALS iterations (a user and an item step)")
    reg: float = Field(
        0.02,
        gt=0,
        description="L2 regularisation lambda (> 0 keeps every system solvable); with "
        "reg_exponent > 0, the factor of each row's frequency-scaled penalty",
    )
    alpha: float = Field(1.0, gt=0, description="confidence slope: c = 1 + alpha * f(r)")
    confidence: Literal["linear", "log"] = Field(
        "linear", description="f(r) = r (linear) or log(1 + r / eps) (log, for play counts)"
    )
    eps: float = Field(1.0, gt=0, description="scale of the log confidence")
    binarize: float | None = Field(
        None,
        description="explicit data as implicit: interactions with value >= binarize become 1, "
        "the others are dropped (None: every value is used as a confidence)",
    )
    solver: Literal["cg", "cholesky"] = Field(
        "cg", description="conjugate gradient (Takács et al. 2011) or the exact Cholesky solve"
    )
    cg_steps: int = Field(3, ge=1, description="conjugate-gradient steps per half-step")
    reg_exponent: float = Field(
        1.0,
        ge=0,
        le=2,
        description="frequency-scaled regularisation (Rendle et al. 2022): each user's "
        "(item's) penalty is reg * (sum of its (c - 1) + the number of items (users))^"
        "reg_exponent, its total weight in the loss; 0: plain reg for every row",
    )
    init_std: float | None = Field(
        None,
        gt=0,
        description="standard deviation of the initial factors (None: 0.1 / sqrt(n_factors), "
        "Rendle et al. 2022)",
    )
    compute_loss: bool = Field(
        True, description="compute the training loss every iteration (false: report NaN)"
    )
    n_threads: int | None = N_THREADS
    seed: int = Field(0, ge=0, description="random seed (initial factors)")


class ImplicitALS(RankingFactorModel):
    """Confidence-weighted ALS for implicit feedback (Hu, Koren and Volinsky 2008): preference
    1 for every interaction, confidence ``1 + alpha r`` (or ``1 + alpha log(1 + r/eps)``);
    scores only rank items. Explicit ratings are used as confidences, or binarised at
    ``binarize``. Fold-in: the exact user half-step (what ``implicit``'s
    ``recalculate_user`` solves); an all-zero history gives zero factors (a cold user)."""

    name = "ials"
    Params = ImplicitALSParams
    capabilities = RankingFactorModel.capabilities.replace(jit_warm_up=True)

    def _config(self) -> solvers.ImplicitConfig:
        p = self.params
        return solvers.ImplicitConfig(
            n_factors=p.n_factors, n_iterations=p.n_iterations, reg=p.reg, alpha=p.alpha,
            confidence=p.confidence, eps=p.eps, solver=p.solver, cg_steps=p.cg_steps,
            init_std=self.initial_std, seed=p.seed, compute_loss=p.compute_loss,
            reg_exponent=p.reg_exponent,
        )

    @property
    def initial_std(self) -> float:
        """``init_std``, or ``0.1 / sqrt(n_factors)`` when it is None."""
        p = self.params
        return 0.1 / float(np.sqrt(p.n_factors)) if p.init_std is None else float(p.init_std)

    def fold_in_values(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """Interaction strengths as trained on: cleaned, binarised at ``binarize``, >= 0."""
        p = self.params
        csr = solvers.clean_csr(history, binarize=p.binarize)
        if csr.nnz and csr.data.min() < 0:
            raise DataError(
                f"{self.owner()}: interaction values must be >= 0 (confidence 1 + alpha r), "
                f"got {csr.data.min():g}; set binarize=THRESHOLD to use signed ratings"
            )
        return csr

    def _confidences(self, matrix: sp.spmatrix) -> sp.csr_matrix:
        p = self.params
        return solvers.with_confidence(self.fold_in_values(matrix), p.alpha, p.confidence, p.eps)

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Any
    ) -> None:
        p = self.params
        conf = self._confidences(train.csr())
        if conf.nnz == 0:
            raise DataError(
                f"{self.owner()}: no interactions left after binarize={p.binarize} "
                "(every value is below the threshold)"
            )
        report = _epoch_reporter(callback, p.n_iterations)
        with limited_threads(p.n_threads):
            x, y, losses = solvers.fit_implicit(conf, self._config(), report)
        self.user_factors_, self.item_factors_ = x, y
        self.loss_history_ = np.asarray(losses)

    def fold_in_regularisation(self, values: sp.csr_matrix, reg: float) -> float | np.ndarray:
        """With ``reg_exponent`` > 0 each new user's regularisation is frequency-scaled as
        in training."""
        p = self.params
        if not p.reg_exponent:
            return reg
        conf = solvers.with_confidence(values, p.alpha, p.confidence, p.eps)
        return reg * solvers.frequency_weights(conf, self.n_items_, p.reg_exponent)
