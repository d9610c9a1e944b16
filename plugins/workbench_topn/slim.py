"""SLIM (Ning and Karypis 2011): a sparse item-item matrix ``W``, one ElasticNet per item.

For each item ``j``: ``w_j = argmin 1/2 ||x_j - X w||^2 + l1 |w|_1 + l2/2 |w|^2`` with
``w >= 0`` and ``w_j = 0`` (the item's own column is left out of ``X`` while it is fitted),
solved by scikit-learn's ``ElasticNet`` (coordinate descent on the sparse matrix) with
``alpha = (l1 + l2) / n_users`` and ``l1_ratio = l1 / (l1 + l2)``, the same objective in
scikit-learn's scaling. Each column keeps its ``k`` largest weights.

Cost: ``items`` ElasticNet fits, each ``O(max_iter * nnz)`` at worst; ``n_jobs`` runs the
items in that many threads (joblib; scikit-learn's coordinate descent releases the GIL),
each on its own copy of the matrix, with results identical to one thread (each item's fit is
deterministic and independent).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.data import Interactions
from workbench.errors import ParamError
from workbench.model import TrainingCallback
from workbench_topn.itemitem import ItemItemModel, ItemItemParams, sparse_arrays, sparse_from
from workbench_topn.weights import interaction_matrix


class SLIMParams(ItemItemParams):
    l1: float = Field(1.0, ge=0, description="L1 penalty of the item weights (sparsity)")
    l2: float = Field(10.0, ge=0, description="L2 penalty of the item weights")
    k: int = Field(100, ge=1, le=100_000, description="largest weights kept per item")
    max_iter: int = Field(100, ge=1, le=100_000, description="coordinate-descent sweeps per item")
    tol: float = Field(1e-4, gt=0, description="ElasticNet stopping tolerance")
    n_jobs: int = Field(1, ge=1, le=256, description="threads fitting items in parallel")


def slim_column(
    x: sp.csc_matrix, j: int, alpha: float, l1_ratio: float, max_iter: int, tol: float
) -> np.ndarray:
    """Weights of item ``j`` (column ``j`` of ``W``): ElasticNet of ``x_j`` on the other
    columns, non-negative, no intercept."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import ElasticNet

    y = x[:, j].toarray().ravel()
    lo, hi = x.indptr[j], x.indptr[j + 1]
    saved = x.data[lo:hi].copy()
    x.data[lo:hi] = 0.0  # the item may not explain itself
    try:
        model = ElasticNet(
            alpha=alpha,
            l1_ratio=l1_ratio,
            positive=True,
            fit_intercept=False,
            copy_X=False,
            precompute=False,
            selection="cyclic",
            max_iter=max_iter,
            tol=tol,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, y)
    finally:
        x.data[lo:hi] = saved
    coef = np.asarray(model.coef_, dtype=np.float64)
    coef[j] = 0.0
    return coef


def _fit_items(
    x: sp.csc_matrix, items: np.ndarray, alpha: float, l1_ratio: float, p: SLIMParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, columns, values) of the kept weights of some items (columns of W)."""
    x = x.copy()  # each worker zeroes columns in turn
    rows, cols, vals = [], [], []
    for j in items:
        coef = slim_column(x, int(j), alpha, l1_ratio, p.max_iter, p.tol)
        nz = np.flatnonzero(coef > 0)
        if len(nz) > p.k:
            nz = nz[np.lexsort((nz, -coef[nz]))[: p.k]]
        rows.append(nz)
        cols.append(np.full(len(nz), j, dtype=np.int64))
        vals.append(coef[nz])
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


class SLIM(ItemItemModel):
    """SLIM: sparse non-negative item-item weights by ElasticNet per item (scikit-learn);
    scores ``x_u W``, fold-in the same product. Deterministic (coordinate descent in item
    order), whatever ``n_jobs``."""

    name = "slim"
    Params = SLIMParams
    state_version = 1
    #: Declared like spark-als's Spark session, so that ``compare --all-models`` (``make
    #: demo``) leaves SLIM out with a note: one ElasticNet per item takes minutes where the
    #: other models take seconds. Named with ``--model`` it runs as any model.
    capabilities = ItemItemModel.capabilities.replace(
        service="minutes of ElasticNet fits, one per item,"
    )

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Interactions | None
    ) -> None:
        p = self.params
        if p.l1 + p.l2 <= 0:
            raise ParamError(f"{self.owner()}: l1 + l2 must be > 0, got l1={p.l1:g}, l2={p.l2:g}")
        x = interaction_matrix(train, p.binary, self.owner())
        n_users, n_items = x.shape
        alpha = (p.l1 + p.l2) / n_users
        l1_ratio = p.l1 / (p.l1 + p.l2)
        csc = x.tocsc()
        csc.sort_indices()
        chunks = np.array_split(np.arange(n_items), max(1, min(p.n_jobs, n_items)))
        if p.n_jobs == 1:
            parts = [_fit_items(csc, chunks[0], alpha, l1_ratio, p)]
        else:
            from joblib import Parallel, delayed

            parts = Parallel(n_jobs=p.n_jobs, prefer="threads")(
                delayed(_fit_items)(csc, c, alpha, l1_ratio, p) for c in chunks
            )
        r = np.concatenate([q[0] for q in parts])
        c = np.concatenate([q[1] for q in parts])
        v = np.concatenate([q[2] for q in parts])
        w = sp.csr_matrix((v, (r, c)), shape=(n_items, n_items), dtype=np.float64)
        w.sort_indices()
        self.weights_ = w
        self._set_history(x)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {**sparse_arrays("weights", self.weights_), **self._history_arrays()}

    def _set_state_arrays(self, arrays: Mapping[str, Any]) -> None:
        n = self.n_items_
        self.weights_ = sparse_from("weights", arrays, (n, n))
        self._restore_history(arrays)
