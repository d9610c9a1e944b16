"""From a delimited or Parquet file to `Interactions`: column roles, checks, duplicates.

Shared by every file-based dataset (tabular, MovieLens, Last.fm). Columns are found by name
(header aliases such as ``userId``, ``movieId``, ``rating``) or by position; every value
problem is reported with the file, line number and the line itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.data import Interactions
from workbench.errors import DataError, RowError
from workbench.fileio.files import FileRef
from workbench.fileio.textfile import (
    Layout,
    Roles,
    id_column,
    ids_need_text,
    line_of_row,
    numeric_column,
    read_columns,
    resolve_roles,
    row_error,
    sniff,
    timestamp_column,
)
from workbench.provenance import FoldColumn
from workbench_datasets.batchwise import TableOptions, is_parquet, read_batchwise
from workbench_datasets.metadata import align_metadata

#: Rows up to which the first repeated pair is located by line (a slow, line-by-line scan).
_LOCATE_LIMIT = 1_000_000

_SCALE_WORDS = {"half-star": (0.5, 5.0), "halfstar": (0.5, 5.0), "1-5": (1.0, 5.0)}


def parse_scale(value: str | Sequence[float] | None) -> tuple[float, float] | None:
    """``"1-5"``, ``"0.5-5"``, ``"1..10"``, ``"half-star"`` or ``[lo, hi]`` -> (lo, hi)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "auto"):
            return None
        if text in _SCALE_WORDS:
            return _SCALE_WORDS[text]
        match = re.fullmatch(r"(-?[\d.]+)\s*(?:-|\.\.|,|:|to)\s*(-?[\d.]+)", text)
        if not match:
            raise DataError(f"rating_scale {value!r}: expected LOW-HIGH, e.g. 1-5 or 0.5-5")
        lo, hi = float(match.group(1)), float(match.group(2))
    else:
        if len(value) != 2:
            raise DataError(f"rating_scale {value!r}: expected two numbers [low, high]")
        lo, hi = float(value[0]), float(value[1])
    if not lo < hi:
        raise DataError(f"rating_scale {value!r}: the low end must be below the high end")
    return lo, hi


def _read_parquet(ref: FileRef) -> tuple[Layout, pa.Table]:
    import pyarrow.parquet as pq

    if ref.member is not None:
        raise DataError(f"{ref.display}: read Parquet files from disk, not from inside a zip")
    try:
        table = pq.read_table(ref.path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{ref.display}: not a readable Parquet file ({exc})") from None
    names = list(table.column_names)
    layout = Layout(ref, "", True, names, len(names), "utf-8", parquet=True)
    return layout, table


def load_table(
    ref: FileRef,
    *,
    sep: str | None = None,
    header: bool | None = None,
    columns: str | Sequence[str] | None = None,
    roles: Mapping[str, Any] | None = None,
    kind: str = "auto",
    rating_scale: tuple[float, float] | None = None,
    duplicates: str | None = None,
    string_ids: bool = False,
    encoding: str | None = None,
    name: str | None = None,
    item_metadata: pd.DataFrame | None = None,
) -> Interactions:
    """Read ``ref`` (delimited text, compressed or not, or Parquet) into `Interactions`.

    Batch by batch where `read_batchwise` takes the file (the same result, in about the
    memory of the result); otherwise, or on any problem, the whole file at once, which
    words the problem with its line. Running out of memory is a one-line error."""
    options = TableOptions(
        sep=sep, header=header, columns=columns, roles=roles, kind=kind,
        rating_scale=rating_scale, duplicates=duplicates, string_ids=string_ids,
        encoding=encoding, name=name, item_metadata=item_metadata,
    )  # fmt: skip
    try:
        return _load(ref, options)
    except MemoryError:
        pass  # raised below, outside the handler: its traceback holds the rows read so far
    raise memory_error(ref)


def _load(ref: FileRef, options: TableOptions) -> Interactions:
    try:
        data, layout, found = read_batchwise(ref, options)
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - not taken batch-wise, or wrong: the whole-file read
        data = None  # (read after the handler: its traceback would keep the rows read so far)
    if data is None:
        return read_whole(ref, options)  # tells which line and why
    return _finish(data, layout, found, ref)


def memory_error(ref: FileRef) -> DataError:
    """The one-line error for running out of memory while reading ``ref``: the file, its
    size and how much memory this process may use."""
    from workbench.fileio.datalimits import memory_available, size_text

    try:
        size = size_text(ref.path.stat().st_size)
    except OSError:
        size = "unknown size"
    kind = ref.compression() if ref.member is None else "zip"
    packed = f", {kind}-compressed" if kind else ""
    available = memory_available()
    may_use = f"; this process may use {size_text(available)}" if available else ""
    return DataError(
        f"{ref.display}: ran out of memory reading its rows ({size} on disk{packed}{may_use}); "
        "free memory, raise the memory limit, or load a smaller file"
    )


def read_whole(
    ref: FileRef,
    options: TableOptions | None = None,
) -> Interactions:
    """`load_table` reading the whole file at once (every column, then converted one by
    one): any input, and the exact error message for any problem."""
    options = options or TableOptions()
    roles = dict(options.roles or {})
    parquet_table = None
    if is_parquet(ref):
        layout, parquet_table = _read_parquet(ref)
    else:
        layout = sniff(ref, sep=options.sep, header=options.header, encoding=options.encoding)
    found = resolve_roles(layout, roles, kind=options.kind, columns=options.columns)
    pos = found.positions
    if parquet_table is not None:
        arrays = {p: parquet_table.column(p) for p in set(pos.values())}
        n_rows = parquet_table.num_rows
        parquet_table = None  # the columns are freed one by one as they are converted
        if options.string_ids:
            for role in ("user", "item"):
                arrays[pos[role]] = arrays[pos[role]].cast(pa.string())
    else:
        ids = [pos["user"], pos["item"]] if options.string_ids else []
        arrays, n_rows = read_columns(layout, list(pos.values()), string_columns=ids)
    if n_rows == 0:
        what = "only a header line" if layout.header else "no data rows"
        raise DataError(f"{ref.display}: {what}, no interactions")
    # integer ids too large for int64 were parsed as floats: re-read them as text, so two
    # different ids never become one
    text_ids = [pos[r] for r in ("user", "item") if ids_need_text(arrays[pos[r]])]
    if text_ids and parquet_table is None:
        again, _ = read_columns(layout, text_ids, string_columns=text_ids)
        arrays.update(again)
    frame: dict[str, Any] = {
        "user": id_column(layout, _take(arrays, pos["user"]), "user"),
        "item": id_column(layout, _take(arrays, pos["item"]), "item"),
    }
    value_col = None
    if found.kind == "explicit":
        values = numeric_column(layout, _take(arrays, pos["rating"]), "rating")
        if options.rating_scale is not None:
            lo, hi = options.rating_scale
            out = (values < lo) | (values > hi)
            if out.any():
                row = int(np.flatnonzero(out)[0])
                raise row_error(
                    layout,
                    row,
                    f"rating {values[row]:g} is outside the rating scale {lo:g}..{hi:g}",
                )
        frame["value"], value_col = values, "value"
    elif "weight" in pos:
        values = numeric_column(layout, _take(arrays, pos["weight"]), "weight")
        neg = values < 0
        if neg.any():
            row = int(np.flatnonzero(neg)[0])
            raise row_error(layout, row, f"weight {values[row]:g} is negative (expected >= 0)")
        frame["value"], value_col = values, "value"
    ts_col = None
    if "timestamp" in pos:
        frame["timestamp"] = timestamp_column(layout, _take(arrays, pos["timestamp"]), "timestamp")
        ts_col = "timestamp"
    fold = _take(arrays, pos["fold"]).to_numpy(zero_copy_only=False) if "fold" in pos else None
    del arrays, parquet_table  # the arrow buffers are no longer needed: free them first
    pa.default_memory_pool().release_unused()
    df = pd.DataFrame(frame, copy=False)
    del frame
    try:
        data = _from_frame(
            df, layout, ref, found, value_col, ts_col, options.rating_scale,
            options.duplicates, options.name, options.item_metadata,
        )  # fmt: skip
    except RowError as exc:  # name the line (and quote it) like every other reading error
        detail = exc.detail
        if detail.startswith("value "):  # the frame's column: say which one it is
            role = "rating" if found.kind == "explicit" else "weight"
            detail = f"{role} {detail.removeprefix('value ')}"
        raise row_error(layout, exc.row, detail) from None
    folds = None
    if fold is not None:
        labels = align_rows(data, df["user"].to_numpy(), df["item"].to_numpy(), fold, ref)
        folds = FoldColumn(found.names[pos["fold"]], labels)
    return _finish(data, layout, found, ref, folds)


def _finish(
    data: Interactions, layout: Layout, found: Roles, ref: FileRef, folds: FoldColumn | None = None
) -> Interactions:
    """What both reads add: the line of the first repeated pair, the columns used, and
    where the data came from."""
    repeat = data.meta.get("first_duplicate")
    if repeat is not None and not layout.parquet and repeat["row"] < _LOCATE_LIMIT:
        repeat["line"] = line_of_row(layout, repeat["row"])[0]
    data.meta["columns"] = {role: found.names[p] for role, p in found.positions.items()}
    return data.with_provenance(path=ref.path, member=ref.member, folds=folds)


def _from_frame(
    df: pd.DataFrame,
    layout: Layout,
    ref: FileRef,
    found: Roles,
    value_col: str | None,
    ts_col: str | None,
    rating_scale: tuple[float, float] | None,
    duplicates: str | None,
    name: str | None,
    item_metadata: pd.DataFrame | None,
) -> Interactions:
    return Interactions.from_pandas(
        df,
        user="user",
        item="item",
        value=value_col,
        timestamp=ts_col,
        kind=found.kind,  # type: ignore[arg-type]
        rating_scale=rating_scale if found.kind == "explicit" else None,
        duplicates=duplicates,  # type: ignore[arg-type]
        name=name or ref.name,
        source=ref.display,
        item_metadata=None
        if item_metadata is None
        else align_metadata(item_metadata, data_ids=df["item"]),
        row_offset=1 + int(layout.header),
    )


def _take(arrays: dict[int, Any], position: int) -> Any:
    """Remove a column from ``arrays`` for its conversion: its arrow memory is released as
    soon as the numpy result exists, so at most one column is held twice (peak memory)."""
    pa.default_memory_pool().release_unused()
    return arrays.pop(position)


def align_rows(
    data: Interactions, users: np.ndarray, items: np.ndarray, labels: np.ndarray, ref: FileRef
) -> np.ndarray:
    """Per-row labels of the raw file mapped onto ``data``'s rows (after duplicate merging)."""
    n_items = max(data.n_items, 1)
    raw_keys = data.users.index_of(users) * n_items + data.items.index_of(items)
    order = np.argsort(raw_keys, kind="stable")
    sorted_keys = raw_keys[order]
    sorted_labels = labels[order]
    same_key = sorted_keys[1:] == sorted_keys[:-1]
    if same_key.any() and (sorted_labels[1:][same_key] != sorted_labels[:-1][same_key]).any():
        raise DataError(f"{ref.display}: the same (user, item) pair appears in different folds")
    last = np.append(~same_key, True)
    keys, values = sorted_keys[last], sorted_labels[last]
    final = data.user.astype(np.int64) * n_items + data.item
    return values[np.searchsorted(keys, final)]
