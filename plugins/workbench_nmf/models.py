"""``nmf`` (zero-filled, scikit-learn, for top-N) and ``nmf-observed`` (observed ratings only,
for rating prediction)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.capabilities import Capabilities, ColdStart
from workbench.data import Interactions
from workbench.errors import DataError
from workbench.factor.embedding import EmbeddingModel, RankingFactorModel
from workbench.factor.scoring import ColdMeanScorer
from workbench.model import EpochInfo, TrainingCallback
from workbench.params import Params
from workbench.threads import limited_threads
from workbench.user_state import UserState
from workbench_nmf import solvers
from workbench_nmf.clusters import NMFClusters, clusters_of


def _reporter(callback: TrainingCallback, n: int):
    def report(iteration: int, loss: float, seconds: float) -> None:
        callback(EpochInfo(iteration, n, loss, seconds=seconds))

    return report


def _values(matrix: sp.spmatrix, binarize: float | None, what: str) -> sp.csr_matrix:
    csr = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    csr.sum_duplicates()
    solvers.check_nonnegative(csr, what)
    if binarize is not None:
        csr.data = (csr.data >= binarize).astype(np.float32)
        csr.eliminate_zeros()
    csr.sort_indices()
    return csr


# -- zero-filled ---------------------------------------------------------------------------------
class NMFParams(Params):
    """scikit-learn's NMF settings (its defaults but 20 components, chosen on the ML-100k
    anchor folds); see docs/models.md."""

    n_components: int = Field(20, ge=1, description="number of components (latent factors)")
    init: Literal["random", "nndsvd", "nndsvda", "nndsvdar"] | None = Field(
        None, description="scikit-learn's init (None: nndsvda when it fits, else random)"
    )
    solver: Literal["cd", "mu"] = Field(
        "cd", description="coordinate descent or multiplicative updates (Frobenius loss)"
    )
    max_iter: int = Field(200, ge=1, description="iterations at most")
    tol: float = Field(
        1e-4,
        ge=0,
        description="stop when an iteration lowers the relative error by less than tol times "
        "itself (0: run max_iter iterations, the same factors as scikit-learn with tol=0)",
    )
    alpha_W: float = Field(0.0, ge=0, description="regularisation of W (users)")
    alpha_H: float | Literal["same"] = Field(
        "same", description="regularisation of H (items); 'same': alpha_W"
    )
    l1_ratio: float = Field(0.0, ge=0, le=1, description="L1 share of the regularisation")
    binarize: float | None = Field(
        None,
        description="values >= binarize become 1 and the others 0 (None: values as they are)",
    )
    fold_in_iter: int = Field(
        400, ge=1, description="iterations of the update_H=False solve in fold-in"
    )
    seed: int = Field(0, ge=0, description="random seed (scikit-learn's random_state)")


class NMF(RankingFactorModel):
    """NMF of the users x items matrix with missing entries as zeros (scikit-learn's
    ``non_negative_factorization``): W (users) and H (items) >= 0, scores ``w_u . h_i`` rank
    items. Fold-in: W of new users with H fixed (``update_H=False``); an all-zero history gives
    zero weights (a cold user). Negative values are refused. User clusters: `clusters`."""

    name = "nmf"
    Params = NMFParams
    capabilities = RankingFactorModel.capabilities.replace(
        cold_start=ColdStart(
            user="zero weights: score 0 for every item (ties ranked in the protocol's order)",
            item="zero weights: score 0",
        ),
        fold_in="nonnegative",
        jit_warm_up=True,
    )

    def _config(self) -> solvers.ZeroFilledConfig:
        p = self.params
        return solvers.ZeroFilledConfig(
            n_components=p.n_components, init=p.init, solver=p.solver, max_iter=p.max_iter,
            tol=p.tol, alpha_W=p.alpha_W, alpha_H=p.alpha_H, l1_ratio=p.l1_ratio, seed=p.seed,
        )

    def fold_in_values(self, history: sp.csr_matrix) -> sp.csr_matrix:
        return _values(history, self.params.binarize, f"{self.owner()} fold-in history")

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Any
    ) -> None:
        p = self.params
        X = _values(train.csr(), p.binarize, f"{self.owner()} on {train.name!r}")
        if X.nnz == 0:
            raise DataError(f"{self.owner()}: every value of {train.name!r} is zero")
        with limited_threads(None):
            W, H, losses = solvers.fit_zero_filled(
                X, self._config(), _reporter(callback, p.max_iter)
            )
        self.user_factors_ = W.astype(np.float32)
        self.item_factors_ = np.ascontiguousarray(H.T, dtype=np.float32)
        self.n_iter_ = len(losses)
        self.loss_history_ = np.asarray(losses)

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        X = self.fold_in_values(history)
        with limited_threads(None):
            W = solvers.zero_filled_fold_in(
                X, np.ascontiguousarray(self.item_factors_.T), self._config(),
                self.params.fold_in_iter,
            )
        return UserState.of(factors=W.astype(np.float32))

    def clusters(self, top_n: int = 10) -> NMFClusters:
        """User clusters (argmax of W) and each component's top items
        (`workbench_nmf.clusters.NMFClusters`)."""
        self.check_fitted()
        return clusters_of(self, top_n)


# -- observed entries ------------------------------------------------------------------------------
class ObservedNMFParams(Params):
    """Defaults chosen on the MovieLens-100k anchor folds (docs/models.md)."""

    n_factors: int = Field(15, ge=1, description="latent factors per user and item")
    n_epochs: int = Field(50, ge=1, description="iterations (a user and an item step each)")
    solver: Literal["cd", "mu"] = Field(
        "cd",
        description="cd: projected coordinate descent (alternating non-negative least "
        "squares); mu: multiplicative updates as Surprise's NMF",
    )
    reg_user: float = Field(
        0.1, gt=0, description="L2 regularisation of user factors, times the user's count"
    )
    reg_item: float = Field(
        0.1, gt=0, description="L2 regularisation of item factors, times the item's count"
    )
    sweeps: int = Field(3, ge=1, description="coordinate-descent sweeps per half-step (cd)")
    init_low: float = Field(0.0, ge=0, description="lower bound of the uniform initial factors")
    init_high: float = Field(1.0, gt=0, description="upper bound of the uniform initial factors")
    seed: int = Field(0, ge=0, description="random seed (initial factors)")


class ObservedNMF(EmbeddingModel):
    """NMF fitted on the observed ratings only (as Surprise's NMF): ``r ~ p_u . q_i`` with
    p, q >= 0, no biases. Fold-in: the non-negative least-squares user step with items frozen
    (a user with no ratings gets zero factors). Negative ratings are refused."""

    name = "nmf-observed"
    Params = ObservedNMFParams
    capabilities = Capabilities(
        feedback=frozenset({"explicit"}),
        predicts="ratings",
        cold_start=ColdStart(
            user="the training mean rating (as Surprise)", item="the training mean rating"
        ),
        fold_in="nonnegative",
        update_users=True,
        similar_items=True,
        jit_warm_up=True,
    )
    #: A cold user or item gets the training mean; a user is cold without ratings (in train,
    #: or in the fold-in history): the state carries ``known``.
    scorer = ColdMeanScorer()

    def _config(self) -> solvers.ObservedConfig:
        p = self.params
        return solvers.ObservedConfig(
            n_factors=p.n_factors, n_epochs=p.n_epochs, reg_user=p.reg_user,
            reg_item=p.reg_item, solver=p.solver, sweeps=p.sweeps, init_low=p.init_low,
            init_high=p.init_high, seed=p.seed,
        )

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Any
    ) -> None:
        p = self.params
        ratings = _values(train.csr(), None, f"{self.owner()} on {train.name!r}")
        report = _reporter(callback, p.n_epochs)
        with limited_threads(None):
            P, Q, losses = solvers.fit_observed(ratings, self._config(), report)
        self.user_factors_, self.item_factors_ = P, Q
        self.global_mean_ = float(ratings.data.mean(dtype=np.float64))
        self.loss_history_ = np.asarray(losses)

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        ratings = _values(history, None, f"{self.owner()} fold-in history")
        factors = solvers.observed_fold_in(ratings, self.item_factors_, self.params.reg_user)
        return UserState.of(factors=factors, known=np.diff(ratings.indptr) > 0)
