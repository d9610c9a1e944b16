"""Top-k in Spark with seen items excluded (what ``recommendForUserSubset`` does not do).

The users of one ranking block go to Spark as an Arrow table ``(row, factors, offset, seen)``
(``seen``: the column positions of the user's excluded items); the candidate item factors go
as a broadcast variable, columns already in tie order. Each executor scores its record
batches with one matrix product, sets the seen positions to ``-inf`` and keeps the best ``k``
by a stable sort, so ties go to the earlier column (the protocol's tie order). Executors need
numpy and pyarrow only (no workbench).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

#: Arrow schema (Spark DDL) of the ranking output.
RANK_SCHEMA = "row int, cols array<int>, scores array<float>, n_candidates int"


def _users_table(
    factors: np.ndarray, offset: np.ndarray, seen_positions: sp.csr_matrix | None
) -> Any:
    import pyarrow as pa

    n, f = factors.shape
    flat = pa.array(np.ascontiguousarray(factors, dtype=np.float32).ravel())
    if seen_positions is None:
        seen = pa.ListArray.from_arrays(
            pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], type=pa.int32())
        )
    else:
        seen = pa.ListArray.from_arrays(
            pa.array(seen_positions.indptr.astype(np.int32)),
            pa.array(seen_positions.indices.astype(np.int32)),
        )
    return pa.table(
        {
            "row": pa.array(np.arange(n, dtype=np.int32)),
            "factors": pa.FixedSizeListArray.from_arrays(flat, f) if f else pa.nulls(n),
            "offset": pa.array(np.asarray(offset, dtype=np.float32)),
            "seen": seen,
        }
    )


def make_ranker(broadcast: Any, k: int, n_factors: int) -> Any:
    """The function given to ``mapInArrow`` (closure over the broadcast item factors)."""

    def rank(batches: Any) -> Any:
        import numpy as np
        import pyarrow as pa

        q = broadcast.value  # (n_cols, f) float32, columns in tie order
        m = q.shape[0]
        kk = min(k, m)
        for batch in batches:
            n = batch.num_rows
            rows = batch.column("row").to_numpy()
            vec = batch.column("factors")
            values = vec.flatten().to_numpy(zero_copy_only=False)
            p = np.asarray(values, dtype=np.float32).reshape(n, n_factors)
            scores = p @ q.T + batch.column("offset").to_numpy()[:, None]
            seen = batch.column("seen")
            offsets = seen.offsets.to_numpy()
            offsets = offsets - offsets[0]
            cols = seen.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
            scores[np.repeat(np.arange(n), np.diff(offsets)), cols] = -np.inf
            scores[~np.isfinite(scores)] = -np.inf
            n_cand = np.isfinite(scores).sum(axis=1).astype(np.int32)
            top = np.argsort(-scores, axis=1, kind="stable")[:, :kk]
            best = np.take_along_axis(scores, top, axis=1).astype(np.float32)
            ok = np.isfinite(best)
            top = np.where(ok, top, -1).astype(np.int32)
            best = np.where(ok, best, np.nan).astype(np.float32)
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(rows, type=pa.int32()),
                    pa.ListArray.from_arrays(
                        pa.array(np.arange(0, n * kk + 1, kk, dtype=np.int32)),
                        pa.array(top.ravel()),
                    ),
                    pa.ListArray.from_arrays(
                        pa.array(np.arange(0, n * kk + 1, kk, dtype=np.int32)),
                        pa.array(best.ravel()),
                    ),
                    pa.array(n_cand, type=pa.int32()),
                ],
                names=["row", "cols", "scores", "n_candidates"],
            )

    return rank


def rank_in_spark(
    spark: Any,
    user_factors: np.ndarray,
    offset: np.ndarray,
    item_factors: np.ndarray,
    seen: sp.csr_matrix | None,
    candidates: np.ndarray,
    k: int,
    order: np.ndarray | None,
    n_items: int,
    *,
    partitions: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` of ``candidates`` per user: ``(items, scores, n_candidates)`` as `_rank`
    returns them; scores are ``user_factors · item_factors + offset``."""
    n = user_factors.shape[0]
    cols = candidates if order is None else candidates[order]
    q = np.ascontiguousarray(item_factors[cols], dtype=np.float32)
    positions = None
    if seen is not None:
        pos = np.full(n_items, -1, dtype=np.int64)
        pos[cols] = np.arange(len(cols))
        coo = seen.tocoo()
        keep = pos[coo.col] >= 0
        positions = sp.csr_matrix(
            (np.ones(int(keep.sum()), dtype=np.bool_), (coo.row[keep], pos[coo.col[keep]])),
            shape=(n, len(cols)),
        )
        positions.sort_indices()
    table = _users_table(user_factors, offset, positions)
    broadcast = spark.sparkContext.broadcast(q)
    try:
        frame = spark.createDataFrame(table)
        if frame.rdd.getNumPartitions() > partitions:
            frame = frame.coalesce(partitions)
        ranker = make_ranker(broadcast, k, user_factors.shape[1])
        result = frame.mapInArrow(ranker, RANK_SCHEMA).toArrow()
    finally:
        broadcast.destroy()
    kk = min(k, len(cols))
    rows = result.column("row").to_numpy()
    top = np.full((n, k), -1, dtype=np.int64)
    best = np.full((n, k), np.nan, dtype=np.float32)
    n_cand = np.zeros(n, dtype=np.int64)
    if kk and len(rows):
        got_cols = np.asarray(result.column("cols").combine_chunks().flatten()).reshape(-1, kk)
        got_scores = np.asarray(result.column("scores").combine_chunks().flatten()).reshape(-1, kk)
        top[rows, :kk] = np.where(got_cols >= 0, cols[np.maximum(got_cols, 0)], -1)
        best[rows, :kk] = got_scores
    n_cand[rows] = result.column("n_candidates").to_numpy()
    return top, best, n_cand
