"""The training matrix of the top-N models and the weightings of the neighbourhood models.

`interaction_matrix` turns training data into the users x items matrix the models learn
from (binarised by default). The weightings follow `implicit`'s ``nearest_neighbours``
module: cosine (rows of the "documents" normalised), TF-IDF (``sqrt(x) * idf`` then cosine)
and BM25 (``x (K1 + 1) / (K1 norm + x) * idf``, no normalisation). A "document" is an item
for item-kNN and a user for user-kNN; the "terms" are the other axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from workbench.data import Interactions
from workbench.errors import DataError, ParamError


def interaction_matrix(train: Interactions, binary: bool, owner: str) -> sp.csr_matrix:
    """users x items float64 CSR: every interaction 1 (``binary``) or its value (then
    negative values are refused: the weightings and the sampling need weights >= 0)."""
    x = train.csr()
    data = np.ones(x.nnz) if binary else np.asarray(x.data, dtype=np.float64)
    if not binary and len(data) and data.min() < 0:
        raise DataError(
            f"{owner} on '{train.name}': binary=false needs values >= 0, got "
            f"{int((data < 0).sum())} negative (min {data.min():g}); use binary=true"
        )
    out = sp.csr_matrix((data, x.indices.copy(), x.indptr.copy()), shape=x.shape)
    out.sort_indices()
    return out


def history_matrix(history: sp.csr_matrix, binary: bool, owner: str) -> sp.csr_matrix:
    """A fold-in history (rows x items) mapped like the training matrix."""
    data = np.ones(history.nnz) if binary else np.asarray(history.data, dtype=np.float64)
    if not binary and len(data) and data.min() < 0:
        raise DataError(f"{owner}: binary=false needs fold-in values >= 0, got min {data.min():g}")
    out = sp.csr_matrix((data, history.indices, history.indptr), shape=history.shape)
    out.sort_indices()
    return out


@dataclass(frozen=True)
class Weighting:
    """How documents (rows of ``docs``, a documents x terms CSR) are weighted.

    ``kind``: cosine, tfidf or bm25; ``idf`` per term and ``mean_length`` (BM25) are learned
    from the training documents by `fit` and reused for documents that arrive later.
    """

    kind: str
    k1: float = 1.2
    b: float = 0.75
    idf: np.ndarray | None = None
    mean_length: float = 1.0

    def fit(self, docs: sp.csr_matrix) -> Weighting:
        """The statistics of the training documents (IDF per term, mean BM25 length)."""
        n_docs = docs.shape[0]
        per_term = np.bincount(docs.indices, minlength=docs.shape[1])
        idf = np.log(float(n_docs)) - np.log1p(per_term)
        lengths = np.asarray(docs.sum(axis=1)).ravel()
        mean = float(lengths.mean()) if len(lengths) else 1.0
        return Weighting(self.kind, self.k1, self.b, idf, mean if mean > 0 else 1.0)

    def apply(self, docs: sp.csr_matrix) -> sp.csr_matrix:
        """The weighted documents (cosine and TF-IDF rows are not normalised here: the
        similarity divides by the norms, with the shrinkage)."""
        x = docs.data.astype(np.float64)
        cols = docs.indices
        if self.kind == "cosine":
            data = x
        elif self.kind == "tfidf":
            data = np.sqrt(x) * self.idf[cols]
        else:
            lengths = np.asarray(docs.sum(axis=1)).ravel()
            norm = (1.0 - self.b) + self.b * lengths / self.mean_length
            rows = np.repeat(np.arange(docs.shape[0]), np.diff(docs.indptr))
            data = x * (self.k1 + 1.0) / (self.k1 * norm[rows] + x) * self.idf[cols]
        return sp.csr_matrix((data, docs.indices, docs.indptr), shape=docs.shape)

    @property
    def normalised(self) -> bool:
        """Cosine and TF-IDF divide dot products by the norms; BM25 does not."""
        return self.kind != "bm25"


def check_shrinkage(kind: str, shrinkage: float, owner: str) -> None:
    if kind == "bm25" and shrinkage > 0:
        raise ParamError(
            f"parameter 'shrinkage' of {owner}: BM25 similarities are plain dot products "
            f"(as implicit's), got shrinkage={shrinkage:g}; use 0 or similarity=cosine/tfidf"
        )


def row_norms(m: sp.csr_matrix) -> np.ndarray:
    return np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())


def similarity_block(
    left: sp.csr_matrix,
    right_t: sp.csr_matrix,
    left_norms: np.ndarray | None,
    right_norms: np.ndarray | None,
    shrinkage: float,
) -> np.ndarray:
    """Dense similarities of the rows of ``left`` with the columns of ``right_t`` (a terms x
    documents matrix): dot products, divided by ``norm * norm + shrinkage`` when norms are
    given (a zero denominator gives 0)."""
    dots = (left @ right_t).toarray()
    if left_norms is None:
        return dots
    denom = np.outer(left_norms, right_norms)
    denom += shrinkage
    np.divide(dots, denom, out=dots, where=denom > 0)
    dots[:, ~(right_norms > 0)] = 0.0
    dots[~(left_norms > 0), :] = 0.0
    return dots


def keep_top_k(
    sims: np.ndarray, k: int, exclude: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row, the ``k`` largest non-zero entries (ties: lower column first), the column
    ``exclude[r]`` (>= 0) left out: ``(counts, columns, values)`` in CSR order, best first."""
    n, m = sims.shape
    if exclude is not None:
        rows = np.flatnonzero(exclude >= 0)
        sims[rows, exclude[rows]] = 0.0
    kk = min(k, m)
    if kk == 0 or n == 0:
        return np.zeros(n, np.int64), np.zeros(0, np.int64), np.zeros(0)
    key = np.where(sims != 0, sims, -np.inf)
    if kk < m:
        part = np.argpartition(-key, kk - 1, axis=1)[:, :kk]
    else:
        part = np.broadcast_to(np.arange(m), (n, m))
    vals = np.take_along_axis(key, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    part = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    keep = np.isfinite(vals)
    return keep.sum(axis=1), part[keep], vals[keep]


def nearest(
    queries: sp.csr_matrix,
    terms: sp.csr_matrix,
    query_norms: np.ndarray | None,
    doc_norms: np.ndarray | None,
    shrinkage: float,
    k: int,
    exclude: np.ndarray,
    block_cells: int,
) -> sp.csr_matrix:
    """The ``k`` most similar documents of each query row (queries x terms; ``terms`` is the
    terms x documents CSR), as a queries x documents CSR, best first in each row; norms
    given: cosine with shrinkage, else dot products. Compiled (`_kernels.knn_rows`), in
    blocks of rows holding at most ``block_cells`` kept entries, threads over rows (the
    result does not depend on their number)."""
    import numba

    from workbench_topn._kernels import knn_rows

    n, n_docs = queries.shape[0], terms.shape[1]
    k = max(1, min(k, n_docs))
    normalised = query_norms is not None
    qn = query_norms if normalised else np.zeros(n)
    dn = doc_norms if normalised else np.zeros(n_docs)
    t_indptr = terms.indptr.astype(np.int64)
    t_indices = terms.indices.astype(np.int64)
    t_data = terms.data.astype(np.float64)
    step = max(1, block_cells // k)
    counts, cols, vals = [], [], []
    for start in range(0, n, step):
        q = queries[start : start + step]
        c, j, v = knn_rows(
            q.indptr.astype(np.int64),
            q.indices.astype(np.int64),
            q.data.astype(np.float64),
            np.asarray(qn[start : start + step], dtype=np.float64),
            t_indptr,
            t_indices,
            t_data,
            np.asarray(dn, dtype=np.float64),
            normalised,
            float(shrinkage),
            k,
            np.asarray(exclude[start : start + step], dtype=np.int64),
            n_docs,
            numba.get_num_threads(),
        )
        keep = np.arange(k)[None, :] < c[:, None]
        counts.append(c)
        cols.append(j[keep])
        vals.append(v[keep])
    indptr = np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.int64)
    return sp.csr_matrix(
        (np.concatenate(vals), np.concatenate(cols), indptr), shape=(n, n_docs), dtype=np.float64
    )


def top_k_similarities(
    docs: sp.csr_matrix,
    weighting: Weighting,
    k: int,
    shrinkage: float,
    block_cells: int,
) -> sp.csr_matrix:
    """The documents x documents similarity matrix, each row keeping its ``k`` most similar
    other documents (each row best first: the column indices are not sorted)."""
    w = weighting.apply(docs)
    norms = row_norms(w) if weighting.normalised else None
    n = w.shape[0]
    return nearest(w, w.T.tocsr(), norms, norms, shrinkage, k, np.arange(n), block_cells)
