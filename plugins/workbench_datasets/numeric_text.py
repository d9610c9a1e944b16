"""A compiled reader for the most common large input: plain numbers in delimited text.

Rating and play logs are usually integer ids, a decimal value and an integer timestamp per
line. For such files this reader parses blocks of whole lines on every core (numba), giving
each wanted column as int64 or float64 with no type inference and no arrow tables (for a
10M-row file: docs/benchmarks.md, suite `scale`). It takes only what it parses exactly as
pyarrow does: ASCII digits with a leading minus, a decimal point and an exponent, at most
15 significant digits in a decimal (then ``m * 10^k`` is rounded once: correctly, as
pyarrow rounds) and 18 in an integer, LF or CRLF line breaks, empty lines skipped. Anything
else (quotes, spaces, signs, hex, missing values, a wrong number of fields, a decimal in an
integer column) raises `NotBatchable` and the caller reads the file with pyarrow.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Mapping

import numpy as np

from workbench.fileio import textfile
from workbench.fileio.textfile import Layout, NotBatchable, line_blocks
from workbench_datasets.columnbuffer import touched

#: The kinds of column this reader gives.
KINDS = ("integer", "decimal")
#: Chunks a block is cut into for the threads (more than threads: even load).
_CHUNKS = 16
#: Smaller files are left to pyarrow: their parse takes less than loading numba (about
#: 0.4 s once per process), which files of a million rows or more load anyway for the
#: duplicate check.
MIN_BYTES = 1 << 25
_ASCII_ENCODINGS = {"utf-8", "iso8859-1", "ascii"}


def applies(layout: Layout) -> bool:
    """Whether `read_numeric_batches` may take the file: one ASCII separator byte, an
    uncompressed file on disk of at least `MIN_BYTES`, an ASCII-compatible encoding."""
    ref, sep = layout.ref, layout.sep
    try:
        encoding = codecs.lookup(layout.encoding).name
    except LookupError:
        return False
    return (
        not layout.parquet
        and layout.decimal == "."
        and len(sep) == 1
        and ord(sep) < 128
        and sep not in '0123456789.-+eE"\r\n'
        and ref.member is None
        and ref.compression() is None
        and encoding in _ASCII_ENCODINGS
        and ref.path.stat().st_size >= MIN_BYTES
    )


def read_numeric_batches(
    layout: Layout, kinds: Mapping[int, str], *, batch_bytes: int | None = None
) -> Iterator[tuple[dict[int, np.ndarray], int]]:
    """The columns at the positions in ``kinds`` (``"integer"``: int64, ``"decimal"``:
    float64), ``batch_bytes`` of whole lines at a time, with the number of bytes each batch
    came from; the other columns are stepped over. A batch's arrays are views of buffers
    the next batch is parsed into: convert or copy them before asking for the next.
    `NotBatchable` where the text is not plain numbers (see the module)."""
    from workbench_datasets import _numeric_text_kernels as k

    if not applies(layout):
        raise NotBatchable("not a plain single-separator file on disk")
    field_kinds = np.zeros(layout.n_fields, dtype=np.int64)
    slots = np.zeros(layout.n_fields, dtype=np.int64)
    count = {"integer": 0, "decimal": 0}
    for pos, kind in sorted(kinds.items()):
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {KINDS}")
        field_kinds[pos] = k.INTEGER if kind == "integer" else k.DECIMAL
        slots[pos] = count[kind]
        count[kind] += 1
    sep = ord(layout.sep)
    skip = layout.leading_blank + int(layout.header)
    # the parsed columns of every block go into the same two arrays (grown when a block
    # has more lines): no memory taken and given back per block
    ints = np.empty((count["integer"], 0), dtype=np.int64)
    floats = np.empty((count["decimal"], 0), dtype=np.float64)
    with open(layout.ref.path, "rb") as source:
        blocks = line_blocks(
            source,
            batch_bytes or textfile.BATCH_BYTES,
            first_lines=skip + 1,
            reuse=True,
            allocate=lambda length: touched(np.empty(length, dtype=np.uint8)),
        )
        for block in blocks:
            data = np.frombuffer(block, dtype=np.uint8)
            data = data[_after_lines(data, skip) :]
            skip = 0
            rows, bad = k.parse_block(
                data, len(data), sep, field_kinds, slots, ints, floats, _CHUNKS
            )
            if bad == -2:  # grown with room to spare: blocks differ a little in lines
                capacity = rows + rows // 8
                ints = np.empty((count["integer"], capacity), dtype=np.int64)
                floats = np.empty((count["decimal"], capacity), dtype=np.float64)
                rows, bad = k.parse_block(
                    data, len(data), sep, field_kinds, slots, ints, floats, _CHUNKS
                )
            if bad >= 0:
                raise NotBatchable(f"not a plain number near byte {bad} of a block")
            size = len(block)
            del block, data
            yield (
                {
                    pos: (ints if kind == "integer" else floats)[slots[pos], :rows]
                    for pos, kind in kinds.items()
                },
                size,
            )


def _after_lines(buf: np.ndarray, n: int) -> int:
    """The offset after the first ``n`` line breaks of ``buf``."""
    start = 0
    for _ in range(n):
        span = 1 << 16
        while (found := buf[start : start + span].tobytes().find(b"\n")) < 0:
            if start + span >= len(buf):
                raise NotBatchable("fewer lines than the header")
            span *= 4
        start += found + 1
    return start
