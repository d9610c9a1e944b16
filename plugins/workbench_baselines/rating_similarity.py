"""Similarities between the rows of two sparse rating matrices, as Surprise defines them,
computed with sparse products over the co-rated pairs only (never a dense matrix).

For rows ``x`` and ``y`` and the columns both rated (``n`` of them), with values ``a`` (of
``x``) and ``b`` (of ``y``):

- ``cosine``: ``sum ab / sqrt(sum a^2 sum b^2)``.
- ``msd``: ``1 / (sum (a - b)^2 / n + 1)``.
- ``pearson``: the Pearson correlation over the common columns.
- ``pearson-baseline``: ``cosine`` of the baseline residuals ``r - b_ui``, times the shrinkage
  factor ``(n - 1) / (n - 1 + shrinkage)`` (Koren 2010; Surprise's ``pearson_baseline``).

Pairs with fewer than ``min_support`` common columns get 0. Only positive similarities are
kept (the neighbour models use no others), each row sorted best first (ties: lower index).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp

from workbench.errors import ParamError

SimilarityKind = Literal["pearson-baseline", "msd", "cosine", "pearson"]


def _pattern(m: sp.csr_matrix) -> sp.csr_matrix:
    out = sp.csr_matrix((np.ones(m.nnz), m.indices, m.indptr), shape=m.shape)
    return out


def pattern_keys(m: sp.csr_matrix, n_cols: int) -> np.ndarray:
    rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    return rows * n_cols + m.indices.astype(np.int64)


def values_on(keys: np.ndarray, m: sp.spmatrix, n_cols: int) -> np.ndarray:
    """The values of ``m`` at the positions ``keys`` (row * n_cols + col, sorted); ``m``'s
    nonzeros are a subset of them (products over co-rated pairs)."""
    m = sp.csr_matrix(m)
    m.sort_indices()
    out = np.zeros(len(keys), dtype=np.float64)
    out[np.searchsorted(keys, pattern_keys(m, n_cols))] = m.data
    return out


def pair_bound(x: sp.csr_matrix, y: sp.csr_matrix) -> int:
    """An upper bound on the co-rated pairs of rows (what the similarity holds)."""
    cx = np.bincount(x.indices, minlength=x.shape[1]).astype(np.int64)
    cy = np.bincount(y.indices, minlength=y.shape[1]).astype(np.int64)
    return int(min(int(cx @ cy), x.shape[0] * y.shape[0]))


def similarities(
    x: sp.csr_matrix,
    y: sp.csr_matrix,
    kind: SimilarityKind,
    *,
    shrinkage: float = 100.0,
    min_support: int = 1,
    same: bool = False,
    max_pairs: int | None = None,
    owner: str = "similarity",
) -> sp.csr_matrix:
    """Positive similarities of every row of ``x`` to every row of ``y`` (float32 CSR, rows
    sorted by similarity, descending). ``same``: ``x`` is ``y`` (the diagonal is left out).
    ``max_pairs`` bounds the co-rated pairs (memory); more is a one-line error."""
    if kind not in ("pearson-baseline", "msd", "cosine", "pearson"):
        raise ParamError(f"{owner}: unknown similarity {kind!r}")
    x = sp.csr_matrix(x, dtype=np.float64)
    y = sp.csr_matrix(y, dtype=np.float64)
    if max_pairs is not None:
        bound = pair_bound(x, y)
        if bound > max_pairs:
            raise ParamError(
                f"{owner}: the similarity would hold up to {bound:,} co-rated pairs, more than "
                f"max_pairs={max_pairs:,} (memory: about 40 bytes a pair); raise max_pairs or "
                "use the other side (user_based)"
            )
    bx, by = _pattern(x), _pattern(y)
    freq = (bx @ by.T).tocsr()
    freq.sort_indices()
    n_cols = y.shape[0]
    keys = pattern_keys(freq, n_cols)
    n = freq.data.astype(np.float64)
    x2, y2 = x.multiply(x).tocsr(), y.multiply(y).tocsr()
    prods = values_on(keys, x @ y.T, n_cols)
    sqi = values_on(keys, x2 @ by.T, n_cols)
    sqj = values_on(keys, bx @ y2.T, n_cols)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "msd":
            sim = 1.0 / ((sqi + sqj - 2.0 * prods) / n + 1.0)
        elif kind == "pearson":
            si = values_on(keys, x @ by.T, n_cols)
            sj = values_on(keys, bx @ y.T, n_cols)
            num = n * prods - si * sj
            den = np.sqrt((n * sqi - si * si) * (n * sqj - sj * sj))
            sim = np.where(den > 0, num / den, 0.0)
        else:
            den = np.sqrt(sqi * sqj)
            sim = np.where(den > 0, prods / den, 0.0)
            if kind == "pearson-baseline":
                sim = sim * (n - 1.0) / (n - 1.0 + shrinkage)
    rows = np.repeat(np.arange(freq.shape[0], dtype=np.int64), np.diff(freq.indptr))
    cols = freq.indices.astype(np.int64)
    keep = (n >= min_support) & (sim > 0) & np.isfinite(sim)
    if same:
        keep &= rows != cols
    rows, cols, sim = rows[keep], cols[keep], sim[keep].astype(np.float32)
    order = np.lexsort((cols, -sim, rows))
    indptr = np.zeros(freq.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=freq.shape[0]), out=indptr[1:])
    return sp.csr_matrix((sim[order], cols[order].astype(np.int32), indptr), shape=freq.shape)
