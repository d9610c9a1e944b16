"""The ``netflix`` dataset: the Netflix Prize training data, parsed streaming.

Two layouts: a ``training_set/`` folder of ``mv_*.txt`` files, or ``combined_data_*.txt``
files. Both are a ``MovieID:`` line followed by ``CustomerID,Rating,Date`` lines. The
files are read in blocks of whole lines through pyarrow's streaming CSV reader; each block
is reduced at once to compact arrays (4+4+1+4 bytes a rating), so memory is bounded by one
block plus the result. ``movie_titles.txt`` (Latin-1, ``MovieID,Year,Title``) gives names.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from pydantic import Field

from workbench.data import Interactions
from workbench.dataset import Dataset
from workbench.errors import DataError, RowError
from workbench.fileio.files import FileRef, iter_lines
from workbench.params import Params
from workbench_datasets.tabular import Duplicates, duplicates_field

_HEADER = re.compile(r"^\s*(\d+)\s*:\s*$")
_ROW = re.compile(r"^\s*(\d+)\s*,\s*([1-5])\s*,\s*(\d{4}-\d{2}-\d{2})\s*$")
_SECONDS_PER_DAY = 86400
_MAX_ID = int(np.iinfo(np.int64).max)
_INT32_MAX = int(np.iinfo(np.int32).max)


def _date_problem(text: str) -> str | None:
    import datetime as dt

    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return f"date {text!r} is not a calendar date (YYYY-MM-DD)"
    return None


def _compact(ids: np.ndarray) -> np.ndarray:
    """int32 where every id fits (4 bytes a rating), else int64: ids are never wrapped."""
    if len(ids) and (ids.min() < -_INT32_MAX or ids.max() > _INT32_MAX):
        return ids.astype(np.int64)
    return ids.astype(np.int32)


def rating_line(refs: list[FileRef], row: int) -> tuple[str, int, str]:
    """File, line number and text of the 0-based rating ``row`` (the slow path, for errors)."""
    k = 0
    for ref in refs:
        for lineno, line in enumerate(iter_lines(ref, "latin-1"), start=1):
            if not line.strip() or _HEADER.match(line):
                continue
            if k == row:
                return ref.display, lineno, line
            k += 1
    return refs[0].display, 0, ""


class NetflixParams(Params):
    path: str = Field(
        ...,
        description="the folder with training_set/ (mv_*.txt) or combined_data_*.txt, "
        "or one such file",
    )
    max_ratings: int | None = Field(
        None,
        gt=0,
        description="stop after about this many ratings (whole movies; for a quick look)",
    )
    titles: bool = Field(True, description="load movie_titles.txt into item_metadata")
    duplicates: Duplicates | None = duplicates_field()  # type: ignore[assignment]
    block_mb: int = Field(16, ge=1, le=1024, description="parse block size in MB (bounds memory)")


def find_files(path: Path) -> list[FileRef]:
    """The rating files under ``path``, in a stable order."""
    if path.is_file():
        return [FileRef(path)]
    if not path.is_dir():
        raise DataError(f"no such file or folder: {str(path)!r}")
    for folder in (path / "training_set", path, path / "download" / "training_set"):
        files = sorted(folder.glob("mv_*.txt"))
        if files:
            return [FileRef(f) for f in files]
    files = sorted(path.glob("combined_data_*.txt")) + sorted(path.glob("*/combined_data_*.txt"))
    if files:
        return [FileRef(f) for f in files]
    raise DataError(
        f"{path}: no Netflix Prize files found (expected training_set/mv_*.txt or "
        "combined_data_*.txt; extract the archives first)"
    )


def _check_lines(refs: list[FileRef]) -> DataError:
    """The slow path: the first malformed line, with file and line number."""
    for ref in refs:
        movie_seen = False
        for lineno, line in enumerate(iter_lines(ref, "latin-1"), start=1):
            if not line.strip():
                continue
            if _HEADER.match(line):
                movie_seen = True
                continue
            if not movie_seen:
                return DataError(
                    f"{ref.display}: line {lineno}: expected a 'MovieID:' line first, got {line!r}"
                )
            match = _ROW.match(line)
            if not match:
                return DataError(
                    f"{ref.display}: line {lineno}: expected 'CustomerID,Rating,Date' "
                    f"(rating 1-5, date YYYY-MM-DD), got {line!r}"
                )
            problem = _date_problem(match.group(3))
            if problem:
                return DataError(f"{ref.display}: line {lineno}: {problem}: {line!r}")
    for ref in refs:
        for lineno, line in enumerate(iter_lines(ref, "latin-1"), start=1):
            number = _HEADER.match(line) or _ROW.match(line)
            if number and int(number.group(1)) > _MAX_ID:
                what = "movie" if _HEADER.match(line) else "customer"
                return DataError(
                    f"{ref.display}: line {lineno}: {what} id {number.group(1)} does not fit "
                    f"a 64-bit integer: {line!r}"
                )
    return DataError(f"{refs[0].display}: could not be parsed as Netflix Prize data")


def _to_csv_rows(block: bytes) -> bytes:
    # "123:" movie lines become "123,," rows: three columns like the rating rows
    block = block.replace(b":\r\n", b",,\n").replace(b":\n", b",,\n")
    return block[:-1] + b",," if block.endswith(b":") else block


def parse(refs: list[FileRef], *, max_ratings: int | None = None, block_mb: int = 16):
    """Stream the files; returns (movie, customer, rating, day) arrays."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from workbench.fileio.arrowinput import owned
    from workbench.fileio.files import LineStream
    from workbench.fileio.textfile import line_blocks

    stream = LineStream(refs, _to_csv_rows, block=1 << 20)
    read_opts = pacsv.ReadOptions(
        column_names=["a", "rating", "date"], block_size=block_mb << 20, use_threads=True
    )
    convert = pacsv.ConvertOptions(
        column_types={"a": pa.int64(), "rating": pa.int8(), "date": pa.date32()},
    )
    parse_opts = pacsv.ParseOptions(delimiter=",", quote_char=False)
    movies, customers, ratings, days = [], [], [], []
    current_movie = -1
    total = 0
    try:
        # blocks of whole lines in buffers pyarrow owns (see workbench.fileio.arrowinput)
        reader = (
            batch
            for block in line_blocks(io.BufferedReader(stream), block_mb << 20)
            for batch in pacsv.read_csv(
                pa.BufferReader(owned(block)),
                read_options=read_opts,
                parse_options=parse_opts,
                convert_options=convert,
            ).to_batches()
        )
        for batch in reader:
            if batch.column(0).null_count:  # a line without a customer (or movie) id
                raise _Malformed
            a = batch.column(0).to_numpy(zero_copy_only=False)
            rating_col = batch.column(1)
            is_movie = rating_col.is_null().to_numpy(zero_copy_only=False)
            r = rating_col.fill_null(0).to_numpy(zero_copy_only=False)
            d = batch.column(2).cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
            # forward-fill the movie id from the last "MovieID:" line (possibly an earlier block)
            marker = np.where(is_movie, np.arange(len(a)), -1)
            last = np.maximum.accumulate(marker)
            movie = np.where(last >= 0, a[np.maximum(last, 0)], current_movie)
            if (movie < 0).any():
                raise _Malformed
            if is_movie.any():
                current_movie = int(a[np.flatnonzero(is_movie)[-1]])
            keep = ~is_movie
            if (r[keep] < 1).any() or (r[keep] > 5).any() or (a < 0).any():
                raise _Malformed  # ratings 1-5, ids without a sign (as the format says)
            movies.append(_compact(movie[keep]))
            customers.append(_compact(a[keep]))
            ratings.append(r[keep].astype(np.int8))
            days.append(d[keep].astype(np.int32))
            total += int(keep.sum())
            if max_ratings is not None and total >= max_ratings:
                break
    except (_Malformed, pa.ArrowInvalid, ValueError) as exc:
        if stream.error is not None:
            raise stream.error from None
        if isinstance(exc, DataError):
            raise
        raise _check_lines(refs) from None
    finally:
        stream.close()
    if not movies or total == 0:
        raise DataError(f"{refs[0].display}: no ratings found")
    out = [np.concatenate(x) for x in (movies, customers, ratings, days)]
    if max_ratings is not None and total > max_ratings:
        # keep whole movies: cut at the first movie boundary after max_ratings
        movie = out[0]
        boundary = np.flatnonzero(movie[max_ratings:] != movie[max_ratings - 1])
        cut = max_ratings + int(boundary[0]) if len(boundary) else len(movie)
        out = [x[:cut] for x in out]
    return tuple(out)


class _Malformed(Exception):
    pass


def read_titles(ref: FileRef) -> pd.DataFrame:
    """``movie_titles.txt``: ``MovieID,YearOfRelease,Title`` (titles may hold commas)."""
    ids, titles = [], []
    for lineno, line in enumerate(iter_lines(ref, "latin-1"), start=1):
        if not line.strip():
            continue
        parts = line.split(",", 2)
        if len(parts) != 3 or not parts[0].strip().isdigit():
            raise DataError(
                f"{ref.display}: line {lineno}: expected 'MovieID,Year,Title', got {line!r}"
            )
        year = parts[1].strip()
        title = parts[2].strip()
        ids.append(int(parts[0]))
        titles.append(f"{title} ({year})" if year.isdigit() else title)
    frame = pd.DataFrame({"title": titles, "genres": [None] * len(titles)}, dtype=object)
    frame.index = pd.Index(np.asarray(ids, dtype=np.int64), name="item")
    return frame


class Netflix(Dataset):
    """The Netflix Prize training set (mv_*.txt files or combined_data_*.txt), streamed.

    About 100 million ratings 1-5 by 480,189 customers on 17,770 movies, with dates. Parsed
    in blocks with bounded memory; movie_titles.txt gives titles. Use max_ratings= for a
    quick look at a prefix.
    """

    name: ClassVar[str] = "netflix"
    Params: ClassVar[type[Params]] = NetflixParams

    def load(self) -> Interactions:
        import os

        p = self.params
        root = Path(os.path.expanduser(p.path))
        refs = find_files(root)
        movie, customer, rating, day = parse(refs, max_ratings=p.max_ratings, block_mb=p.block_mb)
        meta = None
        if p.titles:
            base = root if root.is_dir() else root.parent
            for candidate in (base / "movie_titles.txt", base.parent / "movie_titles.txt"):
                if candidate.is_file():
                    meta = read_titles(FileRef(candidate))
                    break
        try:
            data = Interactions.from_arrays(
                customer,
                movie,
                rating.astype(np.float32),
                timestamps=day.astype(np.int64) * _SECONDS_PER_DAY,
                kind="explicit",
                rating_scale=(1.0, 5.0),
                duplicates=p.duplicates,
                name="netflix",
                source=refs[0].display,
                item_metadata=meta,
            )
        except RowError as exc:  # name the file and line, as every reading error does
            display, lineno, line = rating_line(refs, exc.row)
            raise DataError(f"{display}: line {lineno}: {exc.detail}: {line!r}") from None
        return data.with_provenance(path=Path(root), member=None)
