"""Fast delimited-text reading with exact, one-line errors, and which column plays which role.

The fast path is pyarrow's multithreaded CSV reader (about 0.5 s for 10 million rows on
two cores); read batch-wise, plain numeric files go to the datasets plugin's compiled
reader (`workbench_datasets.numeric_text`) first. A multi-character separator such as ``::``
is replaced by one control byte in blocks of whole lines on the way in, so it is parsed by
the same C++ code. When something is wrong, a slow path re-reads the file line by line only
to name the file, line number and content in the error.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from workbench.errors import DataError
from workbench.fileio.arrowinput import is_utf8, owned, owned_whole
from workbench.fileio.files import FileRef, LineStream, iter_lines

#: Separators tried, in order, when none is given.
CANDIDATES: tuple[str, ...] = ("\t", "::", ",", ";", "|", " ")
_ALIASES = {
    "tab": "\t",
    "\\t": "\t",
    "tsv": "\t",
    "comma": ",",
    "csv": ",",
    "semicolon": ";",
    "pipe": "|",
    "space": " ",
    "whitespace": "whitespace",
    "\\s+": "whitespace",
    "ws": "whitespace",
}
_NAMES = {
    "\t": "tab",
    ",": "comma",
    ";": "semicolon",
    "|": "pipe",
    " ": "space",
    "whitespace": "whitespace",
}
#: The single byte a multi-character separator is replaced by.
_UNIT_SEP = "\x1f"
_WS = re.compile(rb"[ \t]+")


def normalise_sep(sep: str) -> str:
    """``tab``/``\\t`` -> a tab character, ``comma`` -> ``,`` and so on; other strings as is."""
    if sep == "":
        raise DataError("sep is empty: give a separator such as tab, ',' or '::'")
    return _ALIASES.get(sep.lower(), sep) if sep.strip() else sep


def sep_label(sep: str) -> str:
    """How a separator is written on the command line: ``tab``, ``,``, ``::``."""
    return {"\t": "tab", " ": "space"}.get(sep, sep)


def sep_words(sep: str) -> str:
    """``tab-separated``, ``comma-separated``, ``'::'-separated``."""
    return f"{_NAMES[sep]}-separated" if sep in _NAMES else f"{sep!r}-separated"


def sep_phrase(sep: str) -> str:
    """``tabs``, ``','``, ``'::'`` (as in "fields separated by ...")."""
    return {"\t": "tabs", " ": "spaces", "whitespace": "whitespace"}.get(sep, repr(sep))


def split_line(line: str, sep: str) -> list[str]:
    """Fields of one line, with CSV quoting for comma and semicolon."""
    if sep == "whitespace":
        return line.split()
    if sep in (",", ";"):
        return next(csv.reader([line], delimiter=sep), [""])
    return line.split(sep)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


#: Header names that mark a header even when every column holds text.
KNOWN_NAMES = {
    "user",
    "userid",
    "item",
    "itemid",
    "movieid",
    "rating",
    "timestamp",
    "weight",
    "count",
    "customerid",
    "artistid",
    "id",
    "title",
    "genres",
}


def normalise_name(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.split(":")[0]).lower()


def _mode_share(widths: list[int]) -> tuple[int, float]:
    values, counts = np.unique(widths, return_counts=True)
    best = int(np.argmax(counts))
    return int(values[best]), float(counts[best]) / len(widths)


#: A number written with a decimal comma (``4,5``), as in semicolon-separated files.
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")


def _commas_are_decimal(lines: Sequence[str]) -> bool:
    """Every comma in the sample is the decimal comma of a semicolon-separated field."""
    fields = [f.strip() for line in lines for f in split_line(line, ";") if "," in f]
    return bool(fields) and all(_DECIMAL_COMMA.fullmatch(f) for f in fields)


def detect_sep(lines: Sequence[str]) -> str | None:
    """The separator that splits (nearly) every sample line into the same number (>= 2) of fields.

    A candidate wins when at least 90% of the lines agree (so one malformed line does not hide
    the separator: it is reported with its line number when the file is read). Commas that
    are only the decimal commas of semicolon-separated fields (``1;10;4,5``) do not make
    the file comma-separated.
    """
    if not lines:
        return None
    scored = []
    for sep in (*CANDIDATES, "whitespace"):
        rows = [split_line(line, sep) for line in lines]
        if sep == " " and any("" in r for r in rows):
            continue  # runs of spaces: whitespace-separated
        width, share = _mode_share([len(r) for r in rows])
        if width >= 2:
            if share >= 0.9:
                if sep == "," and _commas_are_decimal(lines) and detect_sep_among(lines, ";"):
                    return ";"
                return sep
            scored.append((share, sep))
    best = max(scored, default=None)
    return best[1] if best is not None and best[0] >= 0.6 else None


def detect_sep_among(lines: Sequence[str], sep: str) -> bool:
    """``sep`` splits at least 90% of the lines into the same number (>= 2) of fields."""
    width, share = _mode_share([len(split_line(line, sep)) for line in lines])
    return width >= 2 and share >= 0.9


def detect_decimal(rows: Sequence[Sequence[str]], sep: str) -> str:
    """``","`` where the fields of a file not separated by commas hold decimal commas
    (``4,5``) and no decimal points; else ``"."``."""
    if sep == ",":
        return "."
    fields = [f.strip() for r in rows for f in r]
    if any(_DECIMAL_COMMA.fullmatch(f) for f in fields) and not any(
        re.fullmatch(r"[+-]?\d*\.\d+", f) for f in fields
    ):
        return ","
    return "."


def field_count(lines: Sequence[str], sep: str) -> int:
    """The number of fields most sample lines have."""
    return _mode_share([len(split_line(line, sep)) for line in lines])[0]


def detect_header(rows: Sequence[Sequence[str]]) -> bool:
    """A header is a first line with text where the data below has numbers, or known names."""
    first, rest = rows[0], rows[1:]
    if rest:
        for j, value in enumerate(first):
            below = [r[j] for r in rest if j < len(r)]
            if below and not _is_number(value) and all(_is_number(v) for v in below):
                return True
    named = [normalise_name(v) for v in first if v.strip()]
    return (
        bool(named)
        and all(n in KNOWN_NAMES for n in named)
        and not any(_is_number(v) for v in first)
    )


@dataclass
class Layout:
    """What sniffing found: separator, header, column names and the number of fields."""

    ref: FileRef
    sep: str
    header: bool
    names: list[str]
    n_fields: int
    encoding: str
    leading_blank: int = 0
    sample: list[list[str]] = field(default_factory=list)
    #: Parquet has rows, not lines: errors name the row.
    parquet: bool = False
    #: The decimal mark of the numbers (``","`` in files such as ``1;10;4,5``).
    decimal: str = "."


def _decode(head: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding is not None:
        return head.decode(encoding, errors="replace"), encoding
    try:
        return head.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut by the sample's end
            return head[: exc.start].decode("utf-8"), "utf-8"
        return head.decode("latin-1"), "latin-1"


def utf16_encoding(head: bytes) -> str | None:
    """``utf-16`` (a byte-order mark), ``utf-16-le``/``-be`` (every other byte NUL in
    the first characters), or None for other text."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = head[:512]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) >= 0.9 * len(odd) and not even.count(0):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and not odd.count(0):
        return "utf-16-be"
    return None


def _refuse_binary(ref: FileRef, head: bytes) -> None:
    """A one-line error for a file of NUL bytes only, or one that looks binary (many NUL
    bytes: not text in any 8-bit encoding); a stray NUL is left to the value checks."""
    nul = head.count(0)
    if not nul:
        return
    if not head.strip(b"\x00 \t\r\n"):
        raise DataError(
            f"{ref.display}: the file holds only NUL bytes (\\x00), no text: it is not a "
            "data file (or it was never written completely)"
        )
    if nul >= 16 and nul >= 0.1 * len(head):
        raise DataError(
            f"{ref.display}: the file looks binary ({nul} NUL bytes in its first "
            f"{len(head)}), not delimited text"
        )


def sniff(
    ref: FileRef,
    sep: str | None = None,
    header: bool | None = None,
    encoding: str | None = None,
    sample_bytes: int = 1 << 16,
) -> Layout:
    """Separator, header and column count from the first lines, with clear errors."""
    head = ref.read_head(sample_bytes)
    wide = utf16_encoding(head)
    if encoding is None:
        encoding = wide
    elif wide is not None and not codecs.lookup(encoding).name.startswith("utf-16"):
        raise DataError(
            f"{ref.display}: the file looks UTF-16 encoded, not {encoding}; convert it to "
            "UTF-8 or give encoding=utf-16"
        )
    if wide is None:
        _refuse_binary(ref, head)
    text, encoding = _decode(head, encoding)
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if len(head) >= sample_bytes and lines:
        lines = lines[:-1]  # the last line may be cut
    leading_blank = 0
    for line in lines:
        if line.strip():
            break
        leading_blank += 1
    body = [line for line in lines if line.strip()][:50]
    if not body:
        raise DataError(f"{ref.display}: the file is empty")
    if sep is None:
        found = detect_sep(body)
        if found is None:
            raise DataError(
                f"{ref.display}: could not tell the separator (tried tab, '::', comma, "
                "semicolon, pipe, space); give it with sep=..."
            )
        sep = found
    else:
        sep = normalise_sep(sep)
        widths = {len(split_line(line, sep)) for line in body}
        if widths == {1}:
            likely = detect_sep(body)
            hint = (
                f"; the file looks {sep_words(likely)} (try sep={sep_label(likely)})"
                if likely is not None and likely != sep
                else "; give the right separator with sep=..."
            )
            raise DataError(f"{ref.display}: no {sep_words(sep)} columns found{hint}")
    rows = [split_line(line, sep) for line in body]
    if header is None:
        header = detect_header(rows)
    if header:
        if len(rows) == 1:
            raise DataError(f"{ref.display}: only a header line ({body[0]!r}), no data rows")
        names = [n.strip() for n in rows[0]]
        n_fields = len(rows[0])
        sample = rows[1:]
    else:
        n_fields = field_count(body, sep)
        names = [f"column {j}" for j in range(n_fields)]
        sample = rows
    return Layout(
        ref, sep, bool(header), names, n_fields, encoding, leading_blank, sample,
        decimal=detect_decimal(sample, sep),
    )  # fmt: skip


# -- the slow path: exact line numbers for errors -----------------------------------------------
def data_lines(layout: Layout):
    """(line number, text) of every data line (blank lines and the header skipped)."""
    seen_header = not layout.header
    for lineno, line in enumerate(iter_lines(layout.ref, layout.encoding), start=1):
        if not line.strip():
            continue
        if not seen_header:
            seen_header = True
            continue
        yield lineno, line


def line_of_row(layout: Layout, row: int) -> tuple[int, str]:
    """Line number and text of the 0-based data row ``row``."""
    for k, (lineno, line) in enumerate(data_lines(layout)):
        if k == row:
            return lineno, line
    return row + 1 + int(layout.header), ""


def row_error(layout: Layout, row: int, message: str) -> DataError:
    """``FILE: line N: MESSAGE: 'the line'`` (``row N`` for Parquet)."""
    if layout.parquet:
        return DataError(f"{layout.ref.display}: row {row + 1}: {message}")
    lineno, line = line_of_row(layout, row)
    return DataError(f"{layout.ref.display}: line {lineno}: {message}: {line!r}")


def bad_field_count(layout: Layout, fallback_text: str | None = None) -> DataError:
    """The error for the first line whose number of fields differs from the first line's."""
    for lineno, line in data_lines(layout):
        if len(split_line(line, layout.sep)) != layout.n_fields:
            return DataError(
                f"{layout.ref.display}: line {lineno}: expected {layout.n_fields} fields "
                f"separated by {sep_phrase(layout.sep)}, got {line!r}"
            )
    shown = f", got {fallback_text!r}" if fallback_text else ""
    return DataError(
        f"{layout.ref.display}: a line does not have {layout.n_fields} fields "
        f"separated by {sep_phrase(layout.sep)}{shown}"
    )


# -- the fast path ---------------------------------------------------------------------------------
def _transform(sep: str):
    if sep == "whitespace":
        unit = _UNIT_SEP.encode()
        edges = re.compile(rb"(?m)^[ \t]+|[ \t]+(?=\r?$)")
        return lambda block: _WS.sub(unit, edges.sub(b"", block))
    raw = sep.encode()
    unit = _UNIT_SEP.encode()
    return lambda block: block.replace(raw, unit)


def read_columns(
    layout: Layout,
    positions: Sequence[int],
    *,
    string_columns: Sequence[int] = (),
) -> tuple[dict[int, pa.ChunkedArray], int]:
    """The columns at ``positions`` as arrow arrays, and the number of data rows."""
    ref, sep = layout.ref, layout.sep
    single = len(sep) == 1
    names = [f"c{j}" for j in range(layout.n_fields)]
    wanted = sorted(set(positions))

    def attempt(encoding: str) -> pa.Table:
        # pyarrow is given no Python object (see workbench.fileio.arrowinput): a plain UTF-8 file
        # by path (an OSFile: pyarrow would guess compression from the file's name), any
        # other text decoded, decompressed and transformed here, in a buffer it owns
        if single and ref.member is None and ref.compression() is None and is_utf8(encoding):
            source: Any = pa.OSFile(str(ref.path))
        else:
            with LineStream([ref], None if single else _transform(sep), encoding=encoding) as s:
                text = owned_whole(iter(lambda: s.read(1 << 22), b""))
            source = pa.BufferReader(text)
            del text
        read_opts = pacsv.ReadOptions(
            column_names=names,
            skip_rows=layout.leading_blank + int(layout.header),
            encoding="utf8",
            block_size=PARSE_BLOCK_BYTES,
        )
        parse_opts = pacsv.ParseOptions(
            delimiter=sep if single else _UNIT_SEP,
            quote_char='"' if sep in (",", ";") else False,
        )
        convert_opts = pacsv.ConvertOptions(
            include_columns=[names[j] for j in wanted],
            column_types={names[j]: pa.string() for j in string_columns},
            strings_can_be_null=False,
            decimal_point=layout.decimal,
        )
        try:
            return pacsv.read_csv(
                source,
                read_options=read_opts,
                parse_options=parse_opts,
                convert_options=convert_opts,
            )
        except MemoryError:
            raise
        except (pa.ArrowInvalid, pa.ArrowException, OSError, ValueError) as exc:
            if isinstance(exc, DataError):
                raise
            found = _FIELD_COUNT.search(str(exc))
            if found:
                raise bad_field_count(layout, found.group(1)) from None
            raise _ParseFailure(str(exc)) from None
        finally:
            source.close()

    try:
        table = attempt(layout.encoding)
    except _ParseFailure as exc:
        if "utf8" in str(exc).lower() or "utf-8" in str(exc).lower():
            try:
                table = attempt("latin-1")
            except _ParseFailure as again:
                raise DataError(f"{ref.display}: could not be parsed ({again})") from None
        else:
            raise DataError(f"{ref.display}: could not be parsed ({exc})") from None
    return {j: table.column(names[j]) for j in wanted}, table.num_rows


class _ParseFailure(Exception):
    pass


#: pyarrow's words for a line with another number of fields (and the line's text).
_FIELD_COUNT = re.compile(r"Expected \d+ columns, got \d+: (.*)", re.S)


class NotBatchable(Exception):
    """The batch-wise read does not take this input the way the whole-file read does
    (callers read the whole file instead, which also words any error)."""


#: Bytes of text pyarrow's CSV reader parses as one block (each a chunk of the columns).
PARSE_BLOCK_BYTES = 1 << 22
#: Bytes of whole lines parsed at a time by `read_column_batches`.
BATCH_BYTES = 1 << 25
#: Text encodings whose lines can be cut at any newline byte.
_BYTE_ENCODINGS = {"utf-8", "iso8859-1", "ascii"}


def read_column_batches(
    layout: Layout,
    positions: Sequence[int],
    *,
    string_columns: Sequence[int] = (),
    batch_bytes: int | None = None,
) -> Iterator[dict[int, pa.ChunkedArray]]:
    """The columns at ``positions``, ``batch_bytes`` of whole lines at a time, as
    `read_columns` reads them from the whole file: the same reader and options, and every
    batch after the first parsed with the column types of the first. A value that does
    not fit those types (where the whole-file read would widen the column), a quoted value
    spanning lines, a timestamp or date column, or a multi-byte encoding raise
    `NotBatchable`; so does any parsing problem, left to `read_columns` to word."""
    ref, sep = layout.ref, layout.sep
    single = len(sep) == 1
    try:
        encoding = codecs.lookup(layout.encoding).name
    except LookupError:
        raise NotBatchable(f"encoding {layout.encoding!r}") from None
    if encoding not in _BYTE_ENCODINGS:
        raise NotBatchable(f"encoding {layout.encoding!r}")
    names = [f"c{j}" for j in range(layout.n_fields)]
    wanted = sorted(set(positions))
    quoted = sep in (",", ";")
    parse_opts = pacsv.ParseOptions(
        delimiter=sep if single else _UNIT_SEP,
        quote_char='"' if quoted else False,
    )
    types: dict[str, pa.DataType] = {names[j]: pa.string() for j in string_columns}
    if single and ref.member is None and ref.compression() is None and is_utf8(encoding):
        source: Any = open(ref.path, "rb")  # noqa: SIM115 - closed below
    else:  # decompressed, transformed and decoded to UTF-8 here (see workbench.fileio.arrowinput)
        lines = LineStream([ref], None if single else _transform(sep), encoding=encoding)
        source = io.BufferedReader(lines)
    with source:
        skip = layout.leading_blank + int(layout.header)
        blocks = line_blocks(source, batch_bytes or BATCH_BYTES, first_lines=skip + 1)
        for k, block in enumerate(blocks):
            if quoted and np.any(np.frombuffer(block, dtype=np.uint8) == ord('"')):
                _check_quotes(block)
            read_opts = pacsv.ReadOptions(
                column_names=names,
                skip_rows=skip if k == 0 else 0,
                encoding="utf8",
                block_size=PARSE_BLOCK_BYTES,
            )
            convert_opts = pacsv.ConvertOptions(
                include_columns=[names[j] for j in wanted],
                column_types=types,
                strings_can_be_null=False,
                decimal_point=layout.decimal,
            )
            try:
                table = pacsv.read_csv(
                    pa.BufferReader(owned(block)),
                    read_options=read_opts,
                    parse_options=parse_opts,
                    convert_options=convert_opts,
                )
            except (pa.ArrowException, ValueError) as exc:
                raise NotBatchable(str(exc)) from None
            if k == 0:
                types = {f.name: f.type for f in table.schema}
                for t in types.values():
                    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t):
                        raise NotBatchable(f"a {t} column (its unit may widen later)")
            size = len(block)
            del block
            yield {j: table.column(names[j]) for j in wanted}, size


def line_blocks(
    source: Any,
    size: int,
    first_lines: int = 1,
    *,
    reuse: bool = False,
    allocate: Callable[[int], np.ndarray] | None = None,
) -> Iterator[memoryview]:
    """Blocks of about ``size`` bytes from ``source``, each cut after its last newline,
    the first holding at least ``first_lines`` lines (read straight into an unfilled
    buffer: no copy of a block). With ``reuse`` every block is read into the same buffer
    (grown when needed; made by ``allocate``, a uint8 array of the given length, if
    given): the caller must be done with a block before asking for the next. Fresh memory
    costs a page fault per page (and, with transparent huge pages, may stall on
    compaction), which was most of a numeric load's system time."""
    rest = b""
    need = first_lines
    kept = np.empty(0, dtype=np.uint8)
    while True:
        if reuse:
            if len(kept) < len(rest) + size:  # room for longer partial lines too
                length = len(rest) + size + max(len(rest), 1 << 16)
                kept = allocate(length) if allocate else np.empty(length, dtype=np.uint8)
            buf = kept[: len(rest) + size]
        else:
            buf = np.empty(len(rest) + size, dtype=np.uint8)
        view = memoryview(buf)
        view[: len(rest)] = rest
        got = source.readinto(view[len(rest) :]) or 0
        filled = len(rest) + got
        if got == 0:
            if rest:
                yield view[:filled]
            return
        cut = _after_last_newline(view, filled)
        if cut == 0 or (need > 1 and not _has_lines(view, cut, need)):
            rest = bytes(view[:filled])  # too few lines yet: read on (the block grows)
            continue
        need = 0
        rest = bytes(view[cut:filled])
        yield view[:cut]


def _has_lines(view: memoryview, end: int, need: int) -> bool:
    """Whether ``view[:end]`` holds at least ``need`` line breaks (read from the start in
    growing spans: no pass over, or copy of, the whole block for a header's few lines)."""
    found, start, span = 0, 0, 1 << 16
    while start < end:
        stop = min(end, start + span)
        found += bytes(view[start:stop]).count(b"\n")
        if found >= need:
            return True
        start, span = stop, span * 4
    return False


def _after_last_newline(view: memoryview, end: int) -> int:
    """The position after the last newline in ``view[:end]`` (0: none)."""
    span = 1 << 16
    while True:
        start = max(0, end - span)
        found = bytes(view[start:end]).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        if start == 0:
            return 0
        span *= 4


def _check_quotes(block: memoryview) -> None:
    """`NotBatchable` if a quoted value may hold a line break (an odd number of quotes
    before some line break): where such a value is cut would change the rows."""
    raw = np.frombuffer(block, dtype=np.uint8)
    quotes = np.flatnonzero(raw == ord('"'))
    breaks = np.flatnonzero((raw == ord("\n")) | (raw == ord("\r")))
    if (np.searchsorted(quotes, breaks) & 1).any():
        raise NotBatchable("a quoted value may span lines")


# -- converting columns ---------------------------------------------------------------------------
def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def numeric_column(layout: Layout, column: pa.ChunkedArray, label: str) -> np.ndarray:
    """float64 values; a missing or non-numeric value is an error naming its line."""

    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        values = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        bad = np.isnan(values)
        if bad.any():
            raise row_error(layout, _first(bad), f"{label} is missing or NaN")
        return _finite(layout, values, label)
    if pa.types.is_null(column.type):
        raise row_error(layout, 0, f"{label} is missing")
    raw = column.to_pandas()
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values)
    if bad.any():
        row = _first(bad)
        text = raw.iloc[row]
        missing = text is None or str(text).strip().lower() in ("", "nan", "na", "null", "none")
        what = "is missing or NaN" if missing else f"{str(text)!r} is not a number"
        raise row_error(layout, row, f"{label} {what}")
    return _finite(layout, values, label)


def _finite(layout: Layout, values: np.ndarray, label: str) -> np.ndarray:
    infinite = np.isinf(values)
    if infinite.any():
        row = _first(infinite)
        raise row_error(layout, row, f"{label} is {values[row]} (expected a finite number)")
    return values


#: Integer ids beyond this magnitude may have lost digits as float64 (2**53).
_EXACT_FLOAT = float(2**53)


def ids_need_text(column: pa.ChunkedArray) -> bool:
    """True when integer-looking ids were parsed into a type that cannot hold them exactly
    (uint64 above int64's range, or floats beyond 2**53): they must be re-read as text."""
    if pa.types.is_uint64(column.type):
        values = column.to_numpy(zero_copy_only=False)
        return bool(len(values)) and int(values.max()) > np.iinfo(np.int64).max
    if pa.types.is_floating(column.type):
        values = column.to_numpy(zero_copy_only=False)
        return bool((np.abs(values[~np.isnan(values)]) >= _EXACT_FLOAT).any())
    return False


def id_column(layout: Layout, column: pa.ChunkedArray, label: str) -> np.ndarray:
    """int64 ids, or str ids where the column holds text; an empty id is an error."""
    if pa.types.is_integer(column.type):
        if column.null_count:
            mask = column.is_null().to_numpy(zero_copy_only=False)
            raise row_error(layout, _first(mask), f"{label} id is missing")
        if ids_need_text(column):  # never wrap: such ids are kept as text
            return id_column(layout, column.cast(pa.string()), label)
        return column.to_numpy().astype(np.int64, copy=False)
    if pa.types.is_floating(column.type):
        values = column.to_numpy(zero_copy_only=False)
        bad = np.isnan(values) | (values != np.round(values))
        if bad.any():
            row = _first(bad)
            raise row_error(
                layout,
                row,
                f"{label} id {float(values[row]):g} is not an integer (or use string_ids=true)",
            )
        huge = np.abs(values) >= 2.0**63
        if huge.any():  # a float column (Parquet) beyond int64: refuse rather than wrap
            row = _first(huge)
            raise row_error(
                layout,
                row,
                f"{label} id {float(values[row]):g} does not fit a 64-bit integer "
                "(store ids as text, or use string_ids=true)",
            )
        return values.astype(np.int64)
    if pa.types.is_null(column.type):
        raise row_error(layout, 0, f"{label} id is missing")
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        raw = column.to_pylist()
        for row, value in enumerate(raw):
            try:
                value.decode("utf-8")
            except (UnicodeDecodeError, AttributeError):
                raise row_error(
                    layout,
                    row,
                    f"{label} id is not valid {layout.encoding} text (give encoding=...)",
                ) from None
    strings = column if pa.types.is_string(column.type) else column.cast(pa.string())
    values = np.asarray(strings.to_numpy(zero_copy_only=False), dtype=object)
    empty = np.fromiter((not v or not v.strip() for v in values), dtype=bool, count=len(values))
    if empty.any():
        raise row_error(layout, _first(empty), f"{label} id is missing")
    nul = np.fromiter(("\x00" in v for v in values), dtype=bool, count=len(values))
    if nul.any():
        raise row_error(layout, _first(nul), f"{label} id holds a NUL byte {NUL_ADVICE}")
    return values


#: What a NUL byte in text means.
NUL_ADVICE = "(\\x00: the file is binary or corrupt, or not UTF-8/Latin-1 text)"


def timestamp_column(layout: Layout, column: pa.ChunkedArray, label: str) -> np.ndarray:
    """int64 Unix seconds from numbers, dates or date-times."""

    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        if column.null_count:
            mask = column.is_null().to_numpy(zero_copy_only=False)
            raise row_error(layout, _first(mask), f"{label} is missing")
        if pa.types.is_date(column.type):
            column = column.cast(pa.date64()).cast(pa.timestamp("ms"))
        seconds = column.cast(pa.timestamp("s"), safe=False).cast(pa.int64())
        return seconds.to_numpy(zero_copy_only=False).astype(np.int64)
    if pa.types.is_integer(column.type):
        if column.null_count:
            mask = column.is_null().to_numpy(zero_copy_only=False)
            raise row_error(layout, _first(mask), f"{label} is missing")
        return column.to_numpy().astype(np.int64, copy=False)
    if pa.types.is_floating(column.type):
        return numeric_column(layout, column, label).astype(np.int64)
    raw = column.to_pandas()
    parsed = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = _first(bad)
        raise row_error(
            layout, row, f"{label} {str(raw.iloc[row])!r} is neither a number nor a date"
        )
    return parsed.astype("datetime64[s, UTC]").astype(np.int64).to_numpy()


# -- column roles ---------------------------------------------------------------------------
ROLES = ("user", "item", "rating", "timestamp", "weight", "fold")
#: Header names recognised for each role (compared without case, '_', '-', spaces, ':type').
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "user": (
        "user",
        "userid",
        "uid",
        "users",
        "customer",
        "customerid",
        "visitorid",
        "reviewerid",
        "member",
        "memberid",
        "u",
    ),
    "item": (
        "item",
        "itemid",
        "iid",
        "items",
        "movie",
        "movieid",
        "artist",
        "artistid",
        "product",
        "productid",
        "asin",
        "isbn",
        "book",
        "bookid",
        "track",
        "trackid",
        "song",
        "songid",
        "business",
        "businessid",
        "animeid",
        "i",
    ),
    "rating": ("rating", "ratings", "score", "stars", "rate", "preference", "r"),
    "timestamp": ("timestamp", "time", "ts", "date", "datetime", "unixtime", "unixreviewtime", "t"),
    "weight": (
        "weight",
        "count",
        "counts",
        "plays",
        "playcount",
        "clicks",
        "frequency",
        "freq",
        "quantity",
        "n",
    ),
    "fold": ("fold", "foldid", "split"),
}
#: The value meaning "no such column" for a role option.
NO_COLUMN = "-"


def _column_names(layout: Layout, columns: str | Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(layout.names)
    names = [c.strip() for c in columns.split(",")] if isinstance(columns, str) else list(columns)
    if len(names) > layout.n_fields:
        raise DataError(
            f"{layout.ref.display}: columns names {len(names)} columns but the file has "
            f"{layout.n_fields}"
        )
    return names + [f"column {j}" for j in range(len(names), layout.n_fields)]


def _find(names: list[str], wanted: str | int, role: str, display: str) -> int | None:
    if isinstance(wanted, int) or (
        isinstance(wanted, str) and wanted.strip().isdigit() and wanted.strip() not in names
    ):
        pos = int(wanted)
        if not 0 <= pos < len(names):
            raise DataError(
                f"{display}: {role}={wanted} is not a column position (the file has "
                f"{len(names)} columns, 0..{len(names) - 1})"
            )
        return pos
    text = str(wanted).strip()
    if text == NO_COLUMN:
        return None
    if text in names:
        return names.index(text)
    normalised = [normalise_name(n) for n in names]
    if normalise_name(text) in normalised:
        return normalised.index(normalise_name(text))
    shown = ", ".join(repr(n) for n in names)
    raise DataError(f"{display}: no column {text!r} for {role} (columns: {shown})")


def _sample_is_time(layout: Layout, pos: int) -> bool:
    values = [r[pos] for r in layout.sample if pos < len(r)]
    if not values:
        return False
    try:
        pd.to_datetime(pd.Series(values), format="mixed")
    except (ValueError, TypeError):
        try:
            [float(v) for v in values]
        except ValueError:
            return False
    return True


@dataclass
class Roles:
    """Which column (position) plays which role, and the resulting feedback kind."""

    positions: dict[str, int]
    kind: str
    names: list[str]


def resolve_roles(
    layout: Layout,
    options: Mapping[str, Any],
    *,
    kind: str = "auto",
    columns: str | Sequence[str] | None = None,
) -> Roles:
    """Map user/item/rating/timestamp/weight/fold to column positions."""
    display = layout.ref.display
    names = _column_names(layout, columns)
    named = layout.header or columns is not None
    pos: dict[str, int] = {}
    explicit_none: set[str] = set()
    for role in ROLES:
        wanted = options.get(role)
        if wanted is None:
            continue
        found = _find(names, wanted, role, display)
        if found is None:
            explicit_none.add(role)
        else:
            pos[role] = found
    if named:
        normalised = [normalise_name(n) for n in names]
        for role in ROLES:
            if role in pos or role in explicit_none:
                continue
            for alias in ROLE_ALIASES[role]:
                if alias in normalised and normalised.index(alias) not in pos.values():
                    pos[role] = normalised.index(alias)
                    break
    else:
        defaults = {"user": 0, "item": 1}
        if kind != "implicit":
            defaults["rating"] = 2
            defaults["timestamp"] = 3
        for role, p in defaults.items():
            taken = p in pos.values()
            if role in pos or role in explicit_none or taken or p >= layout.n_fields:
                continue
            if role == "timestamp" and not _sample_is_time(layout, p):
                continue
            pos[role] = p
    for role in ("user", "item"):
        if role not in pos:
            shown = ", ".join(repr(n) for n in names)
            raise DataError(
                f"{display}: no {role} column found (columns: {shown}); name it with "
                f"{role}=COLUMN (a name or a 0-based position)"
            )
    if pos["user"] == pos["item"]:
        raise DataError(f"{display}: user and item are the same column ({names[pos['user']]!r})")
    if kind == "auto":
        kind = "explicit" if "rating" in pos else "implicit"
    if kind == "explicit" and "rating" not in pos:
        shown = ", ".join(repr(n) for n in names)
        raise DataError(
            f"{display}: no rating column found (columns: {shown}); name it with "
            "rating=COLUMN, or load it as kind=implicit"
        )
    if kind == "implicit":
        pos.pop("rating", None)
    return Roles(pos, kind, names)
