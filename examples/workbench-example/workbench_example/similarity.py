"""Item-item similarities from a sparse users x items matrix, computed in blocks of items.

Only items x items blocks are ever dense (bounded by `BLOCK_CELLS`); the result keeps the
``n_neighbors`` most similar items of each item as a CSR matrix whose rows are sorted by
similarity, descending (what the scoring kernels walk).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Cells of one dense items x items block (8 MiB of float64).
BLOCK_CELLS = 1 << 20


def item_similarities(
    z: sp.csr_matrix,
    *,
    co_rated: bool,
    shrinkage: float,
    min_similarity: float,
    n_neighbors: int,
) -> sp.csr_matrix:
    """Cosine similarity of the item columns of ``z`` (users x items), shrunk by support.

    ``co_rated=True`` normalises each pair over the users who rated both items and shrinks
    by ``(n - 1) / (n - 1 + shrinkage)`` (Koren's shrunk Pearson of baseline residuals when
    ``z`` holds residuals); otherwise whole columns are normalised and the shrink factor is
    ``n / (n + shrinkage)``, with ``n`` the number of users who rated both items.
    Only similarities above ``min_similarity`` (>= 0) are kept; an item is never its own
    neighbour.
    """
    z = sp.csr_matrix(z, dtype=np.float64)
    n_items = z.shape[1]
    ones = z.copy()
    ones.data = np.ones_like(ones.data)
    zc, onesc = z.tocsc(), ones.tocsc()
    if co_rated:
        z2 = z.multiply(z).tocsr()
        z2c = z2.tocsc()
    else:
        norms = np.sqrt(np.asarray(z.multiply(z).sum(axis=0)).ravel())
    rows, cols, vals = [], [], []
    step = max(1, BLOCK_CELLS // max(n_items, 1))
    for start in range(0, n_items, step):
        block = np.arange(start, min(start + step, n_items))
        dot = (zc[:, block].T @ z).toarray()
        support = (onesc[:, block].T @ ones).toarray()
        if co_rated:
            sq_i = (z2c[:, block].T @ ones).toarray()
            sq_j = (onesc[:, block].T @ z2).toarray()
            denom = np.sqrt(sq_i * sq_j)
            shrink = np.maximum(support - 1.0, 0.0)
        else:
            denom = norms[block][:, None] * norms[None, :]
            shrink = support
        with np.errstate(divide="ignore", invalid="ignore"):
            sim = np.where(denom > 0, dot / denom, 0.0)
            if shrinkage > 0:
                sim *= np.where(shrink > 0, shrink / (shrink + shrinkage), 0.0)
        sim[np.arange(len(block)), block] = 0.0
        sim[~(sim > min_similarity)] = 0.0
        if n_neighbors < n_items:
            keep = np.argpartition(-sim, n_neighbors - 1, axis=1)[:, :n_neighbors]
            mask = np.zeros_like(sim, dtype=bool)
            np.put_along_axis(mask, keep, True, axis=1)
            sim[~mask] = 0.0
        r, c = np.nonzero(sim)
        rows.append(block[r])
        cols.append(c)
        vals.append(sim[r, c])
    return sorted_rows(
        np.concatenate(rows) if rows else np.empty(0, np.int64),
        np.concatenate(cols) if cols else np.empty(0, np.int64),
        np.concatenate(vals) if vals else np.empty(0),
        n_items,
    )


def sorted_rows(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n: int) -> sp.csr_matrix:
    """An n x n CSR matrix whose rows are ordered by value descending (ties: column)."""
    order = np.lexsort((cols, -vals, rows))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sp.csr_matrix(
        (vals[order].astype(np.float32), cols[order].astype(np.int32), indptr), shape=(n, n)
    )
