"""BPR-MF (Rendle et al. 2009, "BPR: Bayesian Personalized Ranking from Implicit Feedback"):
``score(u, i) = p_u . q_i + b_i``, trained by SGD on ``-log sigmoid(x_ui - x_uj)`` with
(u, i) drawn uniformly from the training pairs and j uniformly from the items u has not
interacted with (LearnBPR), ``n_samples = nnz`` steps per epoch, as `implicit`'s BPR.

Single-threaded numba kernel (`workbench_topn._kernels`): a seeded run is bit-identical
whatever the numba cache state. There is no parallel option: Hogwild-style threads (as
implicit's ``num_threads``) would make the result depend on scheduling.

Fold-in (new users, items frozen): ``fold_in_epochs`` passes of the same BPR steps over the
user's history from a zero vector, seeded (gradient fold-in; options ``n_epochs``, ``lr``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.capabilities import ColdStart
from workbench.data import Interactions
from workbench.factor.embedding import EmbeddingModel
from workbench.model import DivergenceGuard, EpochInfo, TrainingCallback
from workbench.params import Params
from workbench.user_state import UserState
from workbench_topn.weights import interaction_matrix


class BPRParams(Params):
    """Defaults: implicit's ``BayesianPersonalizedRanking`` (100 factors, learning rate 0.01,
    regularisation 0.01 on the factors and the item biases, 100 epochs)."""

    n_factors: int = Field(100, ge=1, le=4096, description="latent factors (plus an item bias)")
    n_epochs: int = Field(100, ge=1, le=100_000, description="epochs of nnz sampled triples")
    lr: float = Field(0.01, gt=0, le=10, description="SGD learning rate")
    reg: float = Field(0.01, ge=0, description="L2 regularisation of the factors")
    reg_bias: float = Field(0.01, ge=0, description="L2 regularisation of the item biases")
    init_std: float = Field(0.1, ge=0, description="initial factors: normal(0, init_std)")
    fold_in_epochs: int = Field(
        20, ge=1, le=10_000, description="fold-in: passes over a new user's history"
    )
    seed: int = Field(0, ge=0, description="random seed (initial factors and sampling)")


class BPR(EmbeddingModel):
    """BPR matrix factorisation with item biases on numba (Rendle et al. 2009)."""

    name = "bpr"
    Params = BPRParams
    plugin_api = "3.0"
    state_version = 1
    capabilities = EmbeddingModel.capabilities.replace(
        predicts="scores",
        cold_start=ColdStart(
            user="zero factors: the item biases (a popularity-like order)",
            item="zero factors and bias: score 0",
        ),
        fold_in="gradient",
        update_users=True,
        jit_warm_up=True,
        biased=True,
    )

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Interactions | None
    ) -> None:
        from workbench_topn._kernels import bpr_epoch

        p = self.params
        x = interaction_matrix(train, True, self.owner())
        rng = np.random.default_rng(p.seed)
        n_users, n_items = x.shape
        f = p.n_factors
        self.user_factors_ = rng.normal(0.0, p.init_std, (n_users, f)).astype(np.float32)
        self.item_factors_ = rng.normal(0.0, p.init_std, (n_items, f)).astype(np.float32)
        self.item_bias_ = np.zeros(n_items, dtype=np.float32)
        self.user_bias_ = np.zeros(n_users, dtype=np.float32)
        self.global_mean_ = 0.0
        state = np.array([rng.integers(0, 2**63, dtype=np.uint64)], dtype=np.uint64)
        users = np.repeat(np.arange(n_users, dtype=np.int32), np.diff(x.indptr))
        indptr = x.indptr.astype(np.int64)
        indices = x.indices.astype(np.int32)
        guard = DivergenceGuard(f"try a lower learning rate than lr={p.lr:g}")
        for epoch in range(1, p.n_epochs + 1):
            started = time.perf_counter()
            total, counted = bpr_epoch(
                users,
                indptr,
                indices,
                self.user_factors_,
                self.item_factors_,
                self.item_bias_,
                np.float32(p.lr),
                np.float32(p.reg),
                np.float32(p.reg_bias),
                x.nnz,
                state,
            )
            loss = total / max(counted, 1)  # every 16th step's -log sigmoid(x_uij)
            guard.check(loss, epoch)
            callback(EpochInfo(epoch, p.n_epochs, loss, seconds=time.perf_counter() - started))

    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        from workbench_topn._kernels import bpr_fold_in

        p = self.params
        n_epochs = int(options.get("n_epochs", p.fold_in_epochs))
        lr = float(options.get("lr", p.lr))
        x = sp.csr_matrix(
            (np.ones(history.nnz, np.float32), history.indices, history.indptr), history.shape
        )
        x.sort_indices()
        factors = np.zeros((x.shape[0], p.n_factors), dtype=np.float32)
        rng = np.random.default_rng([p.seed, 1])
        state = np.array([rng.integers(0, 2**63, dtype=np.uint64)], dtype=np.uint64)
        bpr_fold_in(
            x.indptr.astype(np.int64),
            x.indices.astype(np.int32),
            factors,
            self.item_factors_,
            self.item_bias_,
            np.float32(lr),
            np.float32(p.reg),
            n_epochs,
            state,
        )
        return UserState.of(factors=factors, bias=np.zeros(x.shape[0], dtype=np.float32))
