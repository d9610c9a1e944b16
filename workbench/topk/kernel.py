"""Compiled top-k selection of the default `Model._rank` (numba, imported lazily).

One pass over a block of scores, row by row: seen items are skipped through a per-row flag
array (from the CSR rows, never a dense mask), non-finite scores are never returned, and a
k-list sorted by (score descending, tie key ascending) is kept. Chunks of 64 scores are first
tested as a whole against the k-th score (a loop the compiler vectorises), so nearly every
score costs two vectorised comparisons (above the k-th score, finite). No GIL: blocks may
be ranked on several threads at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import scipy.sparse as sp
from numba import njit

#: Scores tested against the k-th best as one vectorised chunk.
CHUNK = 64


@njit(cache=True, nogil=True)
def _insert(s, key, col, best_s, best_key, best_col, filled, k):  # noqa: ANN001, ANN202
    """Put (s, key, col) into the sorted k-list; returns the new fill."""
    pos = filled if filled < k else k - 1
    while pos > 0 and (best_s[pos - 1] < s or (best_s[pos - 1] == s and best_key[pos - 1] > key)):
        if pos < k:
            best_s[pos] = best_s[pos - 1]
            best_key[pos] = best_key[pos - 1]
            best_col[pos] = best_col[pos - 1]
        pos -= 1
    best_s[pos] = s
    best_key[pos] = key
    best_col[pos] = col
    return filled + 1 if filled < k else k


@njit(cache=True, nogil=True)
def top_k_block(scores, seen_indptr, seen_indices, col_of_item, key, k, out_col, out_s, n_cand):  # noqa: ANN001, ANN201, E501
    """Top-``k`` columns of each row of ``scores`` (cast to float32 first, as the ranking
    does), by score descending then ``key`` ascending; seen items (row ``r``'s items are
    ``seen_indices[seen_indptr[r]:seen_indptr[r + 1]]``, mapped to columns by
    ``col_of_item``, -1: not a column; an empty ``seen_indptr``: nothing seen) and
    non-finite scores are left out. Writes ``out_col`` (-1 padded), ``out_s`` (NaN padded)
    and ``n_cand`` (the finite, unseen scores of each row)."""
    n, m = scores.shape
    flag = np.zeros(m, dtype=np.uint8)
    best_s = np.empty(k, dtype=np.float32)
    best_key = np.empty(k, dtype=np.int64)
    best_col = np.empty(k, dtype=np.int64)
    inf = np.float32(np.inf)
    has_seen = seen_indptr.shape[0] > 0
    for r in range(n):
        row = scores[r]
        seen_finite = 0
        if has_seen:
            for p in range(seen_indptr[r], seen_indptr[r + 1]):
                c = col_of_item[seen_indices[p]]
                if c >= 0 and flag[c] == 0:
                    flag[c] = 1
                    if abs(np.float32(row[c])) < inf:
                        seen_finite += 1
        filled = 0
        thr = -inf
        finite = 0
        for j0 in range(0, m, CHUNK):
            seg = row[j0 : j0 + CHUNK]  # a view indexed from 0: the loop vectorises
            above = 0
            for t in range(seg.shape[0]):
                v = np.float32(seg[t])
                above += v >= thr
                finite += abs(v) < inf
            if above == 0:
                continue
            for t in range(seg.shape[0]):
                v = np.float32(seg[t])
                j = j0 + t
                if not (v >= thr) or not (abs(v) < inf) or flag[j] != 0:
                    continue
                kj = key[j]
                if filled == k and v == thr and kj > best_key[k - 1]:
                    continue
                filled = _insert(v, kj, j, best_s, best_key, best_col, filled, k)
                if filled == k:
                    thr = best_s[k - 1]
        for t in range(k):
            if t < filled:
                out_col[r, t] = best_col[t]
                out_s[r, t] = best_s[t]
            else:
                out_col[r, t] = -1
                out_s[r, t] = np.nan
        n_cand[r] = finite - seen_finite
        if has_seen:
            for p in range(seen_indptr[r], seen_indptr[r + 1]):
                c = col_of_item[seen_indices[p]]
                if c >= 0:
                    flag[c] = 0


#: Scores per row chunk of `rank_rows` (8 MiB of float32: enough rows for BLAS to run near
#: its peak, few enough to stay in the shared cache between the scoring and the selection).
CHUNK_CELLS = 1 << 21
#: Thread pools by (process id, size): a pool made before a fork has no threads in the child
#: (a forked ``--jobs`` worker would wait on it forever), so each process makes its own.
_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


_BLAS: list[Any] = []


def _pool(n: int) -> ThreadPoolExecutor:
    key = (os.getpid(), n)
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(n, thread_name_prefix="workbench-rank")
    return _POOLS[key]


def _one_blas_thread() -> Any:
    """A context with one BLAS thread: the chunks are already scored on several threads,
    and a BLAS pool per thread on top would oversubscribe the cores (2.5-3x slower on 2).
    The controller is made once (a fresh `threadpool_limits` costs milliseconds a call)."""
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def rank_rows(
    score: Callable[[slice], Any],
    n: int,
    candidates: np.ndarray,
    n_items: int,
    seen: sp.csr_matrix | None,
    k: int,
    order: np.ndarray | None,
    n_threads: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` of ``candidates`` for ``n`` rows, ``score(rows)`` giving a chunk of rows'
    scores (``-> (items, scores, n_candidates)`` as `Model._rank`). Ties by ``order``
    (positions into ``candidates``) or by item index. Chunks of about `CHUNK_CELLS` scores
    (sizes balanced, a multiple of ``n_threads`` in number, no chunk of one row unless ``n``
    is 1), on ``n_threads`` threads at once when more than one: ``score`` must then be
    thread-safe."""
    m = len(candidates)
    cand = np.asarray(candidates, dtype=np.int64)
    if order is None:
        key = cand
    else:
        key = np.empty(m, dtype=np.int64)
        key[np.asarray(order, dtype=np.int64)] = np.arange(m)
    col_of_item = np.full(n_items, -1, dtype=np.int64)
    col_of_item[cand] = np.arange(m)
    if seen is not None and seen.nnz:
        indptr, indices = seen.indptr.astype(np.int64), seen.indices
    else:
        indptr, indices = np.zeros(0, np.int64), np.zeros(0, np.int32)
    out_col = np.empty((n, k), dtype=np.int64)
    out_s = np.empty((n, k), dtype=np.float32)
    n_cand = np.empty(n, dtype=np.int64)
    # a multiple of the threads, so no thread idles through the last round of a block
    n_chunks = -(-max(-(-n * m // CHUNK_CELLS), 1) // n_threads) * n_threads
    n_chunks = min(n_chunks, max(1, n // 2))
    bounds = np.linspace(0, n, n_chunks + 1).round().astype(np.int64)

    def work(c: int) -> None:
        lo, hi = int(bounds[c]), int(bounds[c + 1])
        block = np.asarray(score(slice(lo, hi)))
        if block.dtype not in (np.float32, np.float64):
            block = block.astype(np.float32)
        block = np.ascontiguousarray(block)
        ptr = indptr[lo : hi + 1] if len(indptr) else indptr
        top_k_block(block, ptr, indices, col_of_item, key, k, out_col[lo:hi], out_s[lo:hi],
                    n_cand[lo:hi])  # fmt: skip

    if n_threads > 1 and n_chunks > 1:
        with _one_blas_thread():
            for f in [_pool(n_threads).submit(work, c) for c in range(n_chunks)]:
                f.result()
    else:
        for c in range(n_chunks):
            work(c)
    items = np.where(out_col >= 0, cand[np.maximum(out_col, 0)], -1)
    return items, out_s, n_cand
