"""The batch-wise read of a delimited or Parquet file: each batch of rows goes straight into
the final compact columns (int32 codes, float32 values, int64 timestamps), so the file's
64-bit columns never exist whole; peak memory stays near the size of the result.

It gives exactly what the whole-file read in `workbench_datasets.table` gives (the same
id maps, codes, row order, duplicate handling, metadata), and takes only inputs where that
is certain: clean numeric or text ids, numeric values and timestamps (Parquet timestamps
and dates too), no missing values, no fold column. Anything else raises `NotBatchable`
before a result exists, and the caller reads the whole file instead, which also words
every error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.data import Interactions
from workbench.fileio.files import FileRef
from workbench.fileio.textfile import (
    Layout,
    NotBatchable,
    Roles,
    read_column_batches,
    resolve_roles,
    sniff,
)
from workbench_datasets import numeric_text
from workbench_datasets.columnbuffer import ColumnBuffer
from workbench_datasets.idcodes import IdCodes
from workbench_datasets.metadata import align_metadata

#: Rows per Parquet batch.
BATCH_ROWS = 1 << 20
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_INT64_MAX = np.iinfo(np.int64).max

__all__ = ["BATCH_ROWS", "NotBatchable", "TableOptions", "is_parquet", "read_batchwise"]


@dataclass(frozen=True, eq=False)
class TableOptions:
    """How a table file is read: the `tabular` dataset's reading parameters, given alike
    to the batch-wise and the whole-file read."""

    sep: str | None = None
    header: bool | None = None
    columns: str | Sequence[str] | None = None
    roles: Mapping[str, Any] | None = None
    kind: str = "auto"
    rating_scale: tuple[float, float] | None = None
    duplicates: str | None = None
    string_ids: bool = False
    encoding: str | None = None
    name: str | None = None
    item_metadata: pd.DataFrame | None = None


def is_parquet(ref: FileRef) -> bool:
    return ref.read_head(4) == b"PAR1"


def read_batchwise(
    ref: FileRef,
    options: TableOptions | None = None,
    *,
    batch_bytes: int | None = None,
    batch_rows: int | None = None,
) -> tuple[Interactions, Layout, Roles]:
    """``ref`` read batch by batch (see the module): ``batch_bytes`` of text or
    ``batch_rows`` Parquet rows at a time (default `workbench.fileio.textfile.BATCH_BYTES`,
    `BATCH_ROWS`). `NotBatchable` where it does not apply; any other exception also means
    "read the whole file" to the caller."""
    options = options or TableOptions()
    roles = dict(options.roles or {})
    parquet = is_parquet(ref)
    if parquet:
        layout, parquet_file = _open_parquet(ref)
    else:
        layout = sniff(ref, sep=options.sep, header=options.header, encoding=options.encoding)
    found = resolve_roles(layout, roles, kind=options.kind, columns=options.columns)
    pos = found.positions
    if "fold" in pos:
        raise NotBatchable("a fold column")
    if len(set(pos.values())) < len(pos):
        raise NotBatchable("one column in two roles")
    value_role = "rating" if found.kind == "explicit" else "weight" if "weight" in pos else None
    sink = _Columns(
        value_role,
        "timestamp" in pos,
        options.rating_scale if found.kind == "explicit" else None,
        options.string_ids,
    )
    if parquet:
        sink.expect(parquet_file.metadata.num_rows)
        for batch in _prefetched(_parquet_batches(parquet_file, pos, batch_rows or BATCH_ROWS)):
            sink.add({role: batch[p] for role, p in pos.items()})
    else:
        size = ref.path.stat().st_size if ref.member is None and not ref.compression() else 0
        try:
            _fill_from_text(sink, pos, _numeric_batches(layout, pos, options, batch_bytes), size)
            numeric = True
        except NotBatchable:  # not plain numbers (or not a plain file): pyarrow parses it
            numeric = False
        if not numeric:  # (outside the handler: its traceback no longer holds the rows read)
            sink = sink.empty()
            ids = [pos["user"], pos["item"]] if options.string_ids else []
            batches = read_column_batches(
                layout, list(pos.values()), string_columns=ids, batch_bytes=batch_bytes
            )
            _fill_from_text(sink, pos, _prefetched(batches), size)
    pa.default_memory_pool().release_unused()
    if sink.n_rows == 0:
        raise NotBatchable("no data rows")
    data = sink.interactions(
        kind=found.kind,
        rating_scale=options.rating_scale if found.kind == "explicit" else None,
        duplicates=options.duplicates,
        name=options.name or ref.name,
        source=ref.display,
        item_metadata=options.item_metadata,
        row_offset=1 + int(layout.header),
    )
    return data, layout, found


def _numeric_batches(
    layout: Layout, pos: Mapping[str, int], options: TableOptions, batch_bytes: int | None
) -> Iterator[tuple[dict[int, Any], int]]:
    """The columns by `workbench_datasets.numeric_text` (numbers only: integer ids and timestamps,
    decimal values), as arrow arrays over its numpy output (no copy)."""
    if options.string_ids or not numeric_text.applies(layout):
        raise NotBatchable("text ids, or not a plain file")
    kinds = {p: "decimal" if role in ("rating", "weight") else "integer" for role, p in pos.items()}
    for columns, size in numeric_text.read_numeric_batches(layout, kinds, batch_bytes=batch_bytes):
        batch = {p: pa.array(values) for p, values in columns.items()}
        del columns
        yield batch, size
        del batch  # before the next block is parsed


def _fill_from_text(
    sink: _Columns,
    pos: Mapping[str, int],
    batches: Iterator[tuple[dict[int, Any], int]],
    size: int,
) -> None:
    """Every batch of text columns (by position) into ``sink`` (by role), its columns
    sized for the file's ``size`` bytes by the first batch."""
    for k, (batch, text_bytes) in enumerate(batches):
        if k == 0 and size and text_bytes:  # rows in the file, by the first batch's
            sink.expect(int(len(batch[pos["user"]]) * size / text_bytes * 1.03) + 1024)
        sink.add({role: batch[p] for role, p in pos.items()})
        del batch  # before the next one is read


_END = object()


def _prefetched(items: Iterator[Any]) -> Iterator[Any]:
    """``items``, each next one read in a worker thread while the caller converts the
    current one (pyarrow's parsing and decoding release the GIL)."""
    with ThreadPoolExecutor(1, thread_name_prefix="workbench-read") as pool:
        pending = pool.submit(next, items, _END)
        while True:
            item = pending.result()
            if item is _END:
                return
            pending = pool.submit(next, items, _END)
            yield item
            del item


def _open_parquet(ref: FileRef) -> tuple[Layout, Any]:
    import pyarrow.parquet as pq

    if ref.member is not None:
        raise NotBatchable("Parquet inside a zip archive")
    parquet_file = pq.ParquetFile(ref.path, pre_buffer=False)  # pre-buffering keeps the file
    schema = parquet_file.schema_arrow
    whole = pq.ParquetDataset(ref.path).schema  # what the whole-file read sees
    if not schema.equals(whole) or len(set(schema.names)) < len(schema.names):
        raise NotBatchable("the readers see different columns, or a name repeats")
    names = list(schema.names)
    return Layout(ref, "", True, names, len(names), "utf-8", parquet=True), parquet_file


def _parquet_batches(
    parquet_file: Any, pos: Mapping[str, int], batch_rows: int
) -> Iterator[dict[int, pa.Array]]:
    """Every column is decoded, as the whole-file read does (a column it cannot read is
    its error), and the wanted ones are kept."""
    schema = parquet_file.schema_arrow
    for batch in parquet_file.iter_batches(batch_size=batch_rows):
        if not batch.schema.equals(schema):
            raise NotBatchable("a batch with other column types")
        yield {p: batch.column(p) for p in set(pos.values())}


def _numbers(column: Any) -> np.ndarray:
    """A numeric arrow column without missing values as numpy (as the whole read has it)."""
    t = column.type
    if not (pa.types.is_integer(t) or pa.types.is_floating(t)) or column.null_count:
        raise NotBatchable(f"a {t} column, or missing values")
    return column.to_numpy(zero_copy_only=False)


class _Columns:
    """The final columns, filled batch by batch with the whole-file read's checks."""

    def __init__(
        self,
        value_role: str | None,
        has_timestamp: bool,
        rating_scale: tuple[float, float] | None,
        string_ids: bool,
    ):
        self.value_role = value_role
        self.has_timestamp = has_timestamp
        self.rating_scale = rating_scale
        self.string_ids = string_ids
        self.ids = {"user": IdCodes(), "item": IdCodes()}
        self.values = ColumnBuffer(np.float32)  # float64 once a value is not exact in float32
        self.stamps = ColumnBuffer(np.int64)
        self.n_rows = 0

    def empty(self) -> _Columns:
        """A new, empty sink with the same settings."""
        return _Columns(self.value_role, self.has_timestamp, self.rating_scale, self.string_ids)

    def expect(self, rows: int) -> None:
        """Size the columns' first blocks for about ``rows`` rows (before any batch)."""
        for buffer in (*self._buffers(), self.values, self.stamps):
            buffer.expect = rows

    def _buffers(self) -> list[ColumnBuffer]:
        return [codes.buffer for codes in self.ids.values()]

    def add(self, batch: Mapping[str, Any]) -> None:
        """A batch of columns by role (arrow arrays, or chunked arrays taken chunk by
        chunk where their chunks line up: no copy to join them)."""
        columns = list(batch.values())
        if isinstance(columns[0], pa.ChunkedArray):
            lengths = [[len(c) for c in column.chunks] for column in columns]
            if all(x == lengths[0] for x in lengths):
                for k in range(len(lengths[0])):
                    self._add({role: column.chunk(k) for role, column in batch.items()})
                return
        self._add(batch)

    def _add(self, batch: Mapping[str, Any]) -> None:
        n = len(batch["user"])
        for role in ("user", "item"):
            self._add_ids(self.ids[role], batch[role])
        if self.value_role is not None:
            self._add_values(batch[self.value_role])
        if self.has_timestamp:
            self.stamps.append(_timestamps(batch["timestamp"]))
        self.n_rows += n

    def _add_ids(self, codes: IdCodes, column: Any) -> None:
        t = column.type
        if column.null_count:
            raise NotBatchable("a missing id")
        if self.string_ids and not pa.types.is_string(t):
            column = column.cast(pa.string())  # as the whole read's Parquet branch does
            t = column.type
        if pa.types.is_integer(t):
            values = column.to_numpy(zero_copy_only=False)
            if pa.types.is_uint64(t) and len(values) and int(values.max()) > _INT64_MAX:
                raise NotBatchable("ids beyond int64 (kept as text)")
            codes.add_ints(values)
            return
        if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            raise NotBatchable(f"{t} ids")
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        encoded = column.dictionary_encode()
        uniques = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
        if any(not v or not v.strip() or "\x00" in v for v in uniques):
            raise NotBatchable("an empty id, or a NUL byte in one")
        codes.add_coded(encoded.indices.to_numpy(), uniques, text=True)

    def _add_values(self, column: Any) -> None:
        values = _numbers(column).astype(np.float64, copy=False)
        if not (np.abs(values) <= _FLOAT32_MAX).all():  # also false for NaN
            raise NotBatchable("a missing, infinite or too large value")
        if self.rating_scale is not None:
            lo, hi = self.rating_scale
            if ((values < lo) | (values > hi)).any():
                raise NotBatchable("a rating outside the scale")
        elif self.value_role == "weight" and (values < 0).any():
            raise NotBatchable("a negative weight")
        if self.values.dtype == np.float32:
            stored = values.astype(np.float32)
            if np.array_equal(stored, values):
                self.values.append(stored)
                return
            # a value float32 cannot hold: keep float64 (merging repeats by mean or sum
            # adds the values as read); the values so far are exact in float64
            wide = ColumnBuffer(np.float64)
            wide.append(self.values.finish())
            self.values = wide
        self.values.append(values)

    def interactions(self, **options: Any) -> Interactions:
        """The `Interactions` (duplicates merged as `Interactions.from_codes` does); the
        batches are freed column by column as they are joined."""
        users, ucode, user_at = self.ids["user"].finish()
        items, icode, item_at = self.ids["item"].finish()
        if self.value_role is None:  # each row counts 1
            values = np.ones(self.n_rows, dtype=np.float32)
        else:
            values = self.values.finish()
        stamps = self.stamps.finish() if self.has_timestamp else None
        at = {"user": (user_at, ucode), "item": (item_at, icode)}

        def id_at(col: str, row: int) -> str:
            lookup, codes = at[col]
            return str(lookup(codes[row]))

        return Interactions.from_codes(
            ucode,
            icode,
            values,
            users=users,
            items=items,
            timestamps=stamps,
            item_metadata=None
            if options["item_metadata"] is None
            else align_metadata(options["item_metadata"], data_ids=pd.Series(items.ids[:0])),
            labels=("user", "item"),
            id_at=id_at,
            **{k: v for k, v in options.items() if k != "item_metadata"},
        )


def _timestamps(column: Any) -> np.ndarray:
    """int64 Unix seconds, converted as `workbench.fileio.textfile.timestamp_column` does."""
    t = column.type
    if column.null_count:
        raise NotBatchable("a missing timestamp")
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        if pa.types.is_date(t):
            column = column.cast(pa.date64()).cast(pa.timestamp("ms"))
        seconds = column.cast(pa.timestamp("s"), safe=False).cast(pa.int64())
        return seconds.to_numpy(zero_copy_only=False).astype(np.int64)
    values = _numbers(column)
    if pa.types.is_floating(t):
        if not np.isfinite(values).all():
            raise NotBatchable("a missing or infinite timestamp")
        return values.astype(np.float64, copy=False).astype(np.int64)
    return values.astype(np.int64, copy=False)
