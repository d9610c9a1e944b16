"""Handing `Interactions` to Spark without a pandas round trip.

- ``arrow``: the index arrays become one Arrow table, given to
  ``spark.createDataFrame`` (record batches go to the JVM as they are; works on any master).
- ``parquet``: the table is written to a Parquet file that Spark reads (``directory`` must then
  be visible to every executor on a cluster: a shared file system).

Columns: ``user`` and ``item`` (int32 indices in the data's id space) and ``rating``
(float32). At 10M interactions on a local master Parquet was about 1.6x faster than Arrow
(``benchmarks/bench_spark.py``, figures in docs/scaling.md), so the model's ``handoff=auto``
picks Parquet on a local master and Arrow on a cluster without a shared ``handoff_dir``.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any, Literal

import numpy as np

Handoff = Literal["arrow", "parquet"]


def interactions_table(user: np.ndarray, item: np.ndarray, value: np.ndarray) -> Any:
    """The (user, item, rating) Arrow table of index arrays (no copies where types match)."""
    import pyarrow as pa

    return pa.table(
        {
            "user": pa.array(np.asarray(user, dtype=np.int32)),
            "item": pa.array(np.asarray(item, dtype=np.int32)),
            "rating": pa.array(np.asarray(value, dtype=np.float32)),
        }
    )


def to_spark(
    spark: Any,
    user: np.ndarray,
    item: np.ndarray,
    value: np.ndarray,
    *,
    how: Handoff = "arrow",
    directory: str | Path | None = None,
) -> tuple[Any, Path | None]:
    """A Spark DataFrame of the interactions, handed over by Arrow or Parquet, and the Parquet
    file to remove once Spark is done with it (None for ``arrow``)."""
    table = interactions_table(user, item, value)
    if how == "arrow":
        return spark.createDataFrame(table), None
    import pyarrow.parquet as pq

    folder = Path(directory) if directory is not None else Path(tempfile.gettempdir())
    path = folder / f"workbench-spark-{uuid.uuid4().hex}.parquet"
    pq.write_table(table, path)
    # Spark reads lazily: the file must outlive the training (the model removes it after fit).
    return spark.read.parquet(str(path)), path
