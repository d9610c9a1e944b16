"""Recommendations for every user (or a list of users) of a model, written to CSV or Parquet
in batches: memory stays at one batch of lists whatever the number of users."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import DataError, ParamError
from workbench.model import Model

#: The largest batch of users recommended (and written) at a time.
MAX_BATCH = 100_000
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_user_ids(path: str | Path) -> list[str]:
    """User ids from a text file, one per line (blank lines and ``#`` comments skipped)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read users file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file of user ids, one per line") from None
    ids = [line.split("#", 1)[0].strip() for line in lines]
    ids = [i for i in ids if i]
    if not ids:
        raise DataError(f"{path}: no user ids (expected one id per line)")
    return ids


def recommend_to_file(
    model: Model | str | Path,
    output: str | Path,
    k: int = 10,
    *,
    users: Iterable[Any] | None = None,
    exclude_seen: bool = True,
    batch_size: int = 10_000,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the top-``k`` lists of ``users`` (default: every user the model knows) to
    ``output`` (``.csv`` or ``.parquet``): columns user, rank, item, score (and title where the
    model has titles), ``batch_size`` users at a time; ``progress(done, total)`` is called
    after each batch. Returns the number of users written."""
    from workbench.api.workflows import _frame, _model_of, known_users

    output = Path(output)
    kind = FORMATS.get(output.suffix.lower())
    if kind is None:
        raise ParamError(f"output {output}: expected a .csv or .parquet file name")
    if not 1 <= int(batch_size) <= MAX_BATCH:
        raise ParamError(f"batch_size must be between 1 and {MAX_BATCH:,}, got {batch_size}")
    model = _model_of(model)
    if users is None:
        idx = np.arange(len(model.users_), dtype=np.int64)
    else:
        idx = known_users(model, [u for u in users])
    total = len(idx)
    ids = model.users_.id_of(idx)
    output.parent.mkdir(parents=True, exist_ok=True)
    part = output.with_name(output.name + ".part")
    writer = None
    try:
        for start in range(0, total, int(batch_size)):
            rows = idx[start : start + int(batch_size)]
            top, scores = model.recommend(rows, k=k, exclude_seen=exclude_seen)
            frame = _frame(model, list(ids[start : start + len(rows)]), top, scores, None)
            if kind == "csv":
                frame.to_csv(part, mode="a" if start else "w", header=not start, index=False)
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(part, table.schema)
                writer.write_table(table)
            if progress is not None:
                progress(start + len(rows), total)
        if writer is not None:
            writer.close()
            writer = None
        if total == 0:
            raise DataError("the model knows no users: nothing to recommend")
        part.replace(output)  # a complete file or none: no half-written output under its name
    finally:
        if writer is not None:
            writer.close()
        part.unlink(missing_ok=True)
    return total
