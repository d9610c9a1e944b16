"""Bytes for pyarrow's CSV reader, in memory pyarrow owns: no Python object in its threads.

pyarrow's CSV reader works on its own C++ worker threads. A Python object handed to it (a
Python file object, a ``bytes`` or numpy block wrapped as a buffer, an
``invalid_row_handler`` callable, or the Python codec behind ``ReadOptions(encoding=...)``)
is released by whichever worker drops the last reference to it, and that worker must take
the GIL to do so. When that happens while the interpreter exits, Python ends the worker
with ``pthread_exit`` inside a C++ destructor and the process aborts ("terminate called
without an active exception", exit 134; about 3% of ``workbench data info`` runs, issue
22). So the readers give pyarrow only buffers it allocated itself, UTF-8 text (decoded
here), and no callbacks; files on disk go by path (`pyarrow.OSFile`).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa

from workbench.errors import DataError


def is_utf8(encoding: str) -> bool:
    """Whether ``encoding`` names UTF-8 (or ASCII, a part of it)."""
    try:
        return codecs.lookup(encoding).name in ("utf-8", "ascii")
    except LookupError:
        return False


def owned(block: bytes | bytearray | memoryview | np.ndarray) -> pa.Buffer:
    """A copy of ``block`` in memory pyarrow allocated (no Python object behind it)."""
    data = np.frombuffer(block, dtype=np.uint8)
    buf = pa.allocate_buffer(len(data))
    np.frombuffer(buf, dtype=np.uint8)[:] = data
    return buf


def owned_whole(chunks: Iterable[bytes | memoryview]) -> pa.Buffer:
    """``chunks`` joined in one buffer pyarrow allocated."""
    sink = pa.BufferOutputStream()
    for chunk in chunks:
        sink.write(chunk)
    return sink.getvalue()


def to_utf8(chunks: Iterable[bytes], encoding: str, display: str) -> Iterator[bytes]:
    """``chunks`` of ``encoding`` text re-encoded as UTF-8 (characters cut between chunks
    are joined); a byte sequence the encoding does not allow is a one-line error."""
    if is_utf8(encoding):
        yield from chunks
        return
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError:
        raise DataError(f"{display}: unknown encoding {encoding!r}") from None
    offset = 0
    try:
        for chunk in chunks:
            text = decoder.decode(chunk)
            offset += len(chunk)
            if text:
                yield text.encode("utf-8")
        text = decoder.decode(b"", final=True)
        if text:
            yield text.encode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{display}: not valid {encoding} text (byte {offset + exc.start}); "
            "give the file's encoding with encoding=..."
        ) from None
