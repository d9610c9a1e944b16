"""EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data").

``B = argmin ||X - X B||^2 + lambda ||B||^2`` with ``diag(B) = 0`` has the closed form
``P = (X^T X + lambda I)^-1``, ``B_ij = -P_ij / P_jj`` (``B_jj = 0``). ``X`` is the binarised
training matrix by default.

Cost: the Gram matrix ``X^T X`` is accumulated from sparse products in blocks of item rows
straight into one dense float64 items x items array; the inverse is a Cholesky factorisation
and inversion in place (LAPACK ``potrf``/``potri``, one BLAS thread by default:
``blas_threads``), and ``B`` overwrites it. Memory is ``8 items^2`` bytes (one matrix), time
``O(nnz * mean items per user + items^3)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.data import Interactions
from workbench.errors import DataError, TrainingDiverged
from workbench.model import BLOCK_CELLS, TrainingCallback
from workbench_topn.itemitem import ItemItemModel, ItemItemParams
from workbench_topn.weights import interaction_matrix

GIB = float(1 << 30)


class EASEParams(ItemItemParams):
    reg: float = Field(
        500.0, gt=0, description="L2 regularisation lambda (added to the Gram diagonal)"
    )
    max_memory_gib: float = Field(
        16.0,
        gt=0,
        le=4096,
        description="refuse (one line) when the dense items x items matrix would need more "
        "GiB than this, or more than the machine's memory",
    )
    blas_threads: int = Field(
        1,
        ge=0,
        le=1024,
        description="BLAS threads of the Cholesky inverse (0: the BLAS library's default); "
        "1: the same bits on every machine, and no thread pool waking up on a busy one",
    )


def physical_memory() -> float | None:
    """Bytes of physical memory, or None where the system does not say."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE")) * float(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def ease_memory(n_items: int) -> float:
    """Bytes EASE holds at its peak: one dense float64 items x items matrix."""
    return 8.0 * float(n_items) ** 2


def gram_matrix(x: sp.csr_matrix, block_cells: int = BLOCK_CELLS) -> np.ndarray:
    """Dense ``X^T X`` (float64), filled from sparse products of blocks of item rows."""
    xt = x.T.tocsr()
    n = x.shape[1]
    g = np.empty((n, n), dtype=np.float64)
    step = max(1, block_cells // max(n, 1))
    for start in range(0, n, step):
        stop = min(start + step, n)
        g[start:stop] = (xt[start:stop] @ x).toarray()
    return g


def ease_weights(g: np.ndarray, reg: float) -> np.ndarray:
    """EASE's ``B`` from the Gram matrix ``g`` (overwritten: ``B`` is returned in its place)."""
    from scipy.linalg import lapack

    n = g.shape[0]
    g[np.diag_indices(n)] += reg
    f = g.T  # the same symmetric matrix, Fortran-ordered: LAPACK works in place, no copy
    c, info = lapack.dpotrf(f, lower=False, overwrite_a=True, clean=False)
    if info != 0:
        raise TrainingDiverged(f"EASE: the Gram matrix plus reg is not positive definite ({info})")
    p, info = lapack.dpotri(c, lower=False, overwrite_c=True)
    if info != 0:
        raise TrainingDiverged(f"EASE: inverting the regularised Gram matrix failed ({info})")
    # potri fills the upper triangle: mirror it, one column at a time (no second matrix).
    for i in range(1, n):
        p[i, :i] = p[:i, i]
    diag = np.diagonal(p).copy()
    p /= -diag[None, :]
    p[np.diag_indices(n)] = 0.0
    return p


class EASE(ItemItemModel):
    """EASE: the closed-form item-item model (Steck 2019); ``lambda`` = ``reg``.

    Scores ``x_u B`` with ``x_u`` the user's binarised history; fold-in is the same product
    (exact, no solve). Refuses in one line where the dense items x items matrix would not fit
    (``max_memory_gib``, and the machine's memory)."""

    name = "ease"
    Params = EASEParams
    state_version = 1

    def _fit(
        self, train: Interactions, *, callback: TrainingCallback, validation: Interactions | None
    ) -> None:
        p = self.params
        need = ease_memory(train.n_items)
        bound = p.max_memory_gib * GIB
        machine = physical_memory()
        if need > bound or (machine is not None and need > machine):
            where = (
                f"over max_memory_gib={p.max_memory_gib:g}"
                if need > bound
                else f"over this machine's {machine / GIB:.1f} GiB"
            )
            raise DataError(
                f"{self.owner()} on '{train.name}': {train.n_items:,} items need a dense "
                f"{train.n_items:,} x {train.n_items:,} matrix of {need / GIB:.1f} GiB, {where}; "
                "use itemknn or slim (sparse), or fewer items"
            )
        x = interaction_matrix(train, p.binary, self.owner())
        g = gram_matrix(x)
        if p.blas_threads:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=p.blas_threads, user_api="blas"):
                self.weights_ = ease_weights(g, p.reg)
        else:
            self.weights_ = ease_weights(g, p.reg)
        self._set_history(x)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_, **self._history_arrays()}

    def _set_state_arrays(self, arrays: Mapping[str, Any]) -> None:
        self.weights_ = np.asarray(arrays["weights"], dtype=np.float64)
        self._restore_history(arrays)
