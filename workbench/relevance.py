"""What ranking metrics read: a batch of top-K lists (`RankingBatch`) and the relevant test
items of the evaluated users (`Relevance`, CSR-like: rows in the order of the users, items
sorted within a row, a grade per item). Hits of a block of top-K lists are found with one
`np.searchsorted` over ``row * n_items + item`` keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class RankingBatch:
    """Top-K lists of a batch of users and what is relevant to each of them.

    Row r is one user. ``K`` is the largest k any metric of the evaluation asked for; a metric
    with ``k <= K`` uses the first ``k`` columns (`head`). Padded positions (item -1: fewer
    than K candidates) are never hits.
    """

    items: np.ndarray  # (n, K) int64 item indices, best first; -1 = padding
    hits: np.ndarray  # (n, K) bool: the item at that rank is relevant
    grades: np.ndarray  # (n, K) float64: relevance grade of each hit (0 for misses)
    ideal: np.ndarray  # (n, >= K) float64: the user's best grades, descending (0 padded)
    n_relevant: np.ndarray  # (n,) int64: relevant test items of the user
    n_candidates: np.ndarray  # (n,) int64: items that were ranked (unseen, or sampled)
    #: Full score rows (column = item index, ``-inf`` = not a candidate); only filled when a
    #: metric sets ``needs_scores`` (AUC).
    scores: np.ndarray | None = None
    #: (n, n_items) relevance grades as CSR (sorted indices); with ``scores``.
    relevant: sp.csr_matrix | None = None

    def __len__(self) -> int:
        return len(self.n_relevant)

    def head(self, k: int) -> RankingBatch:
        """The same batch cut to the first ``k`` ranks (padded with misses if k > K)."""
        n = self.items.shape[0]

        def fit(a: np.ndarray, fill: float) -> np.ndarray:
            if a.shape[1] >= k:
                return a[:, :k]
            return np.hstack([a, np.full((n, k - a.shape[1]), fill, dtype=a.dtype)])

        return RankingBatch(
            fit(self.items, -1),
            fit(self.hits, False),
            fit(self.grades, 0.0),
            fit(self.ideal, 0.0),
            self.n_relevant,
            self.n_candidates,
            self.scores,
            self.relevant,
        )

    @classmethod
    def from_lists(
        cls,
        items: Sequence[Sequence[int]] | np.ndarray,
        relevant: Sequence[Sequence[int]],
        *,
        grades: Sequence[Sequence[float]] | None = None,
        n_candidates: Sequence[int] | None = None,
        scores: np.ndarray | None = None,
    ) -> RankingBatch:
        """Build a batch from plain lists (tests, notebooks): ranked items per user
        (-1 = padding), relevant items per user and optionally their grades."""
        arr = np.asarray(items, dtype=np.int64)
        if arr.ndim != 2:
            raise ValueError("items must be a 2-d array: one ranked list per user")
        grade_lists = grades if grades is not None else [[1.0] * len(r) for r in relevant]
        n_items = int(max([arr.max(initial=-1)] + [max(r, default=-1) for r in relevant])) + 1
        if scores is not None:
            n_items = max(n_items, scores.shape[1])
        rel = Relevance.from_lists(relevant, grade_lists, n_items=max(n_items, 1))
        cand = (
            np.asarray(n_candidates, dtype=np.int64)
            if n_candidates is not None
            else np.full(len(arr), max(n_items, 1), dtype=np.int64)
        )
        width = max(arr.shape[1], int(rel.counts().max(initial=0)))
        return rel.batch(0, len(arr), arr, cand, scores=scores, ideal_width=width)


@dataclass(frozen=True)
class Relevance:
    """Relevant items (with grades) of ``n_rows`` users, in CSR layout."""

    indptr: np.ndarray  # (n_rows + 1,) int64
    items: np.ndarray  # (nnz,) int64, sorted within each row
    grades: np.ndarray  # (nnz,) float64
    n_items: int

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def build(
        cls, rows: np.ndarray, items: np.ndarray, grades: np.ndarray, n_rows: int, n_items: int
    ) -> Relevance:
        """From (row, item, grade) triples; rows are positions ``0..n_rows-1``."""
        rows = np.asarray(rows, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        order = np.lexsort((items, rows))
        counts = np.bincount(rows, minlength=n_rows) if len(rows) else np.zeros(n_rows, np.int64)
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(indptr, items[order], np.asarray(grades, np.float64)[order], n_items)

    @classmethod
    def from_lists(
        cls,
        relevant: Sequence[Sequence[int]],
        grades: Sequence[Sequence[float]],
        *,
        n_items: int,
    ) -> Relevance:
        rows = np.concatenate(
            [np.full(len(r), i, dtype=np.int64) for i, r in enumerate(relevant)] or [[]]
        )
        items = np.concatenate([np.asarray(r, dtype=np.int64) for r in relevant] or [[]])
        vals = np.concatenate([np.asarray(g, dtype=np.float64) for g in grades] or [[]])
        if len(np.unique(rows * n_items + items)) != len(items):
            raise ValueError("an item is listed twice as relevant for the same user")
        return cls.build(rows, items, vals, len(relevant), n_items)

    def counts(self) -> np.ndarray:
        """Relevant items per row."""
        return np.diff(self.indptr)

    def rows_slice(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(local row, item, grade) of rows ``start..stop-1`` (local rows start at 0)."""
        lo, hi = self.indptr[start], self.indptr[stop]
        local = np.repeat(np.arange(stop - start), np.diff(self.indptr[start : stop + 1]))
        return local, self.items[lo:hi], self.grades[lo:hi]

    def csr(self, start: int, stop: int) -> sp.csr_matrix:
        """Rows ``start..stop-1`` as a (rows x n_items) CSR of grades."""
        lo, hi = self.indptr[start], self.indptr[stop]
        return sp.csr_matrix(
            (self.grades[lo:hi], self.items[lo:hi], self.indptr[start : stop + 1] - lo),
            shape=(stop - start, self.n_items),
        )

    def ideal(self, start: int, stop: int, k: int) -> np.ndarray:
        """(rows, k) best grades of each row, descending, zero-padded."""
        local, _, grades = self.rows_slice(start, stop)
        out = np.zeros((stop - start, k), dtype=np.float64)
        if k == 0 or len(grades) == 0:
            return out
        order = np.lexsort((-grades, local))
        local, grades = local[order], grades[order]
        first = self.indptr[start : stop + 1][:-1] - self.indptr[start]
        rank = np.arange(len(local)) - first[local]
        keep = rank < k
        out[local[keep], rank[keep]] = grades[keep]
        return out

    def lookup(self, start: int, stop: int, top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hits, grades) of the (rows, K) item matrix ``top`` against rows ``start..stop-1``."""
        local, items, grades = self.rows_slice(start, stop)
        keys = local * self.n_items + items  # sorted: rows, then items
        rows = np.arange(top.shape[0], dtype=np.int64)[:, None]
        query = rows * self.n_items + np.where(top >= 0, top, 0)
        if len(keys) == 0:
            z = np.zeros(top.shape, dtype=bool)
            return z, np.zeros(top.shape)
        pos = np.searchsorted(keys, query)
        pos_safe = np.minimum(pos, len(keys) - 1)
        hits = (keys[pos_safe] == query) & (top >= 0)
        return hits, np.where(hits, grades[pos_safe], 0.0)

    def batch(
        self,
        start: int,
        stop: int,
        top: np.ndarray,
        n_candidates: np.ndarray,
        *,
        scores: np.ndarray | None = None,
        ideal_width: int | None = None,
    ) -> RankingBatch:
        """A `RankingBatch` for rows ``start..stop-1`` and their top lists."""
        hits, grades = self.lookup(start, stop, top)
        return RankingBatch(
            items=top,
            hits=hits,
            grades=grades,
            ideal=self.ideal(start, stop, ideal_width or top.shape[1]),
            n_relevant=self.counts()[start:stop].astype(np.int64),
            n_candidates=np.asarray(n_candidates, dtype=np.int64),
            scores=scores,
            relevant=self.csr(start, stop) if scores is not None else None,
        )

    def dense_mask(self, start: int, stop: int) -> np.ndarray:
        """(rows, n_items) bool of relevant items: only for one block of users."""
        local, items, _ = self.rows_slice(start, stop)
        mask = np.zeros((stop - start, self.n_items), dtype=bool)
        mask[local, items] = True
        return mask
