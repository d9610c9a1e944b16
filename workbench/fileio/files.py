"""Files: where bytes come from (local files, members of zip archives, compressed streams),
and where they go (`write_atomic`).

A `FileRef` names one logical file (a path, or a member inside a zip archive) and opens it
as a decompressed binary stream. Compression is recognised by its magic bytes (gzip, bzip2,
xz, zip, zstd), not by the file name. Decompression failures (a truncated or corrupt
archive) become one-line `DataError`s.

`LineStream` wraps such a stream for pyarrow's CSV reader: it hands out whole lines only,
optionally transformed (e.g. a multi-character separator replaced by one byte), so parsing
stays in C++ while memory stays bounded by a block.
"""

from __future__ import annotations

import atexit
import bz2
import difflib
import errno
import gzip
import io
import lzma
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from workbench.errors import DataError, WorkbenchError

_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"PK\x03\x04": "zip",
    b"PK\x05\x06": "zip",  # empty zip
    b"(\xb5/\xfd": "zstd",
}
#: Errors raised by decompressors on truncated or corrupt input.
_ARCHIVE_ERRORS: tuple[type[BaseException], ...] = (
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
    gzip.BadGzipFile,
    OSError,
)
#: Zip members that are never data.
_JUNK_PREFIXES = ("__MACOSX/",)


def sniff_compression(head: bytes) -> str | None:
    """``gzip``/``bzip2``/``xz``/``zip``/``zstd`` from the first bytes, else None."""
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def corrupt(display: str, kind: str, exc: BaseException) -> DataError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DataError(
        f"{display}: the {kind} data is truncated or corrupt ({detail}); "
        "download or copy the file again"
    )


def zip_members(path: Path) -> list[str]:
    """File members of a zip archive (directories and macOS junk left out)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise corrupt(path.name, "zip", exc) from None
    return [n for n in names if not n.endswith("/") and not n.startswith(_JUNK_PREFIXES)]


@dataclass(frozen=True)
class FileRef:
    """One logical file: ``path`` on disk, or ``member`` of the zip archive at ``path``."""

    path: Path
    member: str | None = None

    @property
    def name(self) -> str:
        """The file's own name (the member's base name inside an archive)."""
        return self.member.rsplit("/", 1)[-1] if self.member else self.path.name

    @property
    def display(self) -> str:
        """How error messages name the file."""
        return f"{self.path.name}:{self.member}" if self.member else self.path.name

    def exists(self) -> bool:
        if self.member is None:
            return self.path.is_file()
        return self.path.is_file() and self.member in zip_members(self.path)

    def _open_raw(self) -> BinaryIO:
        if self.member is None:
            return open(self.path, "rb")  # noqa: SIM115 - returned to the caller
        try:
            zf = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise corrupt(self.path.name, "zip", exc) from None
        try:
            return _ZipMember(zf, zf.open(self.member))  # type: ignore[return-value]
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            zf.close()
            raise corrupt(self.path.name, "zip", exc) from None
        except KeyError:
            zf.close()
            raise DataError(f"{self.path.name}: no member {self.member!r} in the archive") from None

    def compression(self) -> str | None:
        with self._open_raw() as fh:
            return sniff_compression(fh.read(8))

    def open(self) -> BinaryIO:
        """The decompressed bytes (a zip file on disk must hold exactly one data file); a
        compressed file may give at most `workbench.fileio.datalimits.max_data_bytes` bytes."""
        kind = self.compression()
        raw = self._open_raw()
        if kind is None:
            if self.member is not None:  # a zip member is decompressed too
                return _bounded(raw, raw, self.display, "zip")
            return raw
        if kind == "gzip":
            return _bounded(gzip.GzipFile(fileobj=raw), raw, self.display, kind)
        if kind == "bzip2":
            return _bounded(bz2.BZ2File(raw), raw, self.display, kind)
        if kind == "xz":
            return _bounded(lzma.LZMAFile(raw), raw, self.display, kind)
        if kind == "zstd":
            import pyarrow as pa

            stream = pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "zstd")
            return _bounded(stream, raw, self.display, kind)
        # a zip archive (on disk, or nested): it must hold exactly one data file
        raw.close()
        if self.member is not None:
            raise DataError(f"{self.display}: a zip archive inside a zip archive is not supported")
        return FileRef(self.path, single_member(self.path)).open()

    def read_head(self, n_bytes: int = 1 << 16) -> bytes:
        """Up to ``n_bytes`` decompressed bytes from the start (for sniffing)."""
        with self.open() as fh:
            try:
                return fh.read(n_bytes)
            except _ARCHIVE_ERRORS as exc:
                raise corrupt(self.display, self.compression() or "file", exc) from None

    def sibling(self, name: str) -> FileRef:
        """Another file in the same folder (or the same folder of the same archive)."""
        if self.member is None:
            return FileRef(self.path.with_name(name))
        folder = self.member.rsplit("/", 1)[0] + "/" if "/" in self.member else ""
        return FileRef(self.path, folder + name)


class _Bounded(io.RawIOBase):
    """A decompressed stream that stops with a one-line error after ``limit`` bytes."""

    def __init__(self, stream: Any, raw: BinaryIO, display: str, kind: str, limit: int | None):
        super().__init__()
        self._stream = stream
        self._raw = raw
        self._display = display
        self._kind = kind
        self._limit = limit
        self._given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(b))
        n = len(data)
        self._given += n
        if self._limit is not None and self._given > self._limit:
            from workbench.fileio.datalimits import ENV, size_text

            raise DataError(
                f"{self._display}: the {self._kind} data expands to more than "
                f"{size_text(self._limit)} (the bound on decompressed data, by default half "
                f"the memory this process may use); set {ENV}=SIZE to change it, or "
                "decompress the file first"
            )
        b[:n] = data
        return n

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._raw.close()  # a GzipFile does not close the file it was given
            super().close()


def _bounded(stream: Any, raw: BinaryIO, display: str, kind: str) -> BinaryIO:
    from workbench.fileio.datalimits import max_data_bytes

    try:
        limit = max_data_bytes()
    except DataError:
        stream.close()
        raw.close()
        raise
    return io.BufferedReader(_Bounded(stream, raw, display, kind, limit), 1 << 16)  # type: ignore[return-value]


class _ZipMember(io.RawIOBase):
    """A zip member's stream that closes its archive too."""

    def __init__(self, archive: zipfile.ZipFile, stream: BinaryIO):
        super().__init__()
        self._archive = archive
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        return self._stream.read(size)

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        self._archive.close()
        super().close()


def single_member(path: Path) -> str:
    """The only data file in a zip archive, or a clear error."""
    members = zip_members(path)
    if len(members) == 1:
        return members[0]
    if not members:
        raise DataError(f"{path.name}: the zip archive is empty")
    shown = ", ".join(members[:8]) + (", ..." if len(members) > 8 else "")
    raise DataError(
        f"{path.name}: the zip archive holds {len(members)} files ({shown}); "
        "name one with member=NAME"
    )


def resolve_path(text: str | os.PathLike[str], *, member: str | None = None) -> FileRef:
    """A `FileRef` for a user-given path (``~`` expanded), with a clear error if missing.

    A pipe, FIFO or device (``<(zcat ratings.gz)``) is read once, as a stream, into a
    temporary file (see `spool`): the readers read a file more than once."""
    path = Path(os.path.expanduser(str(text)))
    try:
        info = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataError(
                f"{str(path)!r} is a symbolic link loop (the link leads back to itself); "
                "point it at a data file"
            ) from None
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise DataError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
        parent = path.parent if str(path.parent) else Path(".")
        hint = ""
        if parent.is_dir():
            close = difflib.get_close_matches(path.name, [p.name for p in parent.iterdir()], n=1)
            if close and close[0] != path.name:
                hint = f"; did you mean {str(parent / close[0])!r}?"
        raise DataError(f"no such file: {str(path)!r}{hint}") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{str(path)!r} is a folder; give the path of a data file")
    if not stat.S_ISREG(info.st_mode):
        if member is not None:
            raise DataError(f"{str(path)!r} is not a file on disk; member= needs a zip file")
        path = spool(path)
    if member is not None:
        ref = FileRef(path, member)
        if not ref.exists():
            members = ", ".join(zip_members(path)[:8])
            raise DataError(f"{path.name}: no member {member!r} (members: {members})")
        return ref
    ref = FileRef(path)
    if ref.compression() == "zip":
        return FileRef(path, single_member(path))
    return ref


def spool(path: Path) -> Path:
    """A pipe, FIFO or device read once, as a stream, into a temporary file of the same
    name (removed at exit), at most `workbench.fileio.datalimits.max_data_bytes` bytes; a stream
    that starts with NUL bytes only (``/dev/zero``) is refused at its first block."""
    from workbench.fileio.datalimits import ENV, max_data_bytes, size_text

    limit = max_data_bytes()
    folder = Path(tempfile.mkdtemp(prefix="workbench-stream-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    target = folder / (path.name or "stream")
    total = 0
    try:
        with open(path, "rb") as source, open(target, "wb") as out:
            while chunk := source.read(1 << 20):
                if total == 0 and not chunk.strip(b"\x00"):
                    raise DataError(
                        f"{path.name}: the stream holds only NUL bytes (\\x00), no text: "
                        "it is not a data file"
                    )
                total += len(chunk)
                if limit is not None and total > limit:
                    raise DataError(
                        f"{path.name}: the stream gives more than {size_text(limit)} (the bound on "
                        f"streamed data, by default half the memory this process may use); "
                        f"set {ENV}=SIZE to change it"
                    )
                out.write(chunk)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise DataError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return target


class LineStream(io.RawIOBase):
    """A readable binary stream of whole lines from one or more sources, as UTF-8 (decoded
    from ``encoding``).

    ``transform`` is applied to blocks of complete lines (never splitting a line), e.g. to
    replace a multi-character separator by a single byte. Decompression errors are kept in
    ``error`` (pyarrow may wrap exceptions raised inside ``read``) and re-raised as DataError.
    """

    def __init__(
        self,
        sources: Iterable[FileRef],
        transform: Callable[[bytes], bytes] | None = None,
        block: int = 1 << 22,
        encoding: str = "utf-8",
    ):
        super().__init__()
        self._sources: Iterator[FileRef] = iter(sources)
        self._transform = transform
        self._block = block
        self._encoding = encoding
        self._chunks: Iterator[bytes] | None = None
        self._current: BinaryIO | None = None
        self._current_ref: FileRef | None = None
        self._pending = b""
        self._out = memoryview(b"")
        self._eof = False
        self.error: DataError | None = None

    def readable(self) -> bool:
        return True

    def _raw_chunks(self, fh: BinaryIO, ref: FileRef) -> Iterator[bytes]:
        while True:
            try:
                chunk = fh.read(self._block)
            except _ARCHIVE_ERRORS as exc:
                self.error = corrupt(ref.display, ref.compression() or "file", exc)
                raise self.error from None
            if not chunk:
                return
            yield chunk

    def _next_chunk(self) -> bytes | None:
        from workbench.fileio.arrowinput import to_utf8

        while True:
            if self._current is None:
                ref = next(self._sources, None)
                if ref is None:
                    return None
                self._current_ref = ref
                self._current = ref.open()
                raw = self._raw_chunks(self._current, ref)
                self._chunks = to_utf8(raw, self._encoding, ref.display)
            assert self._chunks is not None
            try:
                chunk = next(self._chunks, b"")
            except DataError as exc:
                self.error = exc
                raise
            if chunk:
                return chunk
            self._current.close()
            self._current = None
            # sources are concatenated: make sure each ends with a newline
            if self._pending and not self._pending.endswith(b"\n"):
                self._pending += b"\n"

    def _fill(self) -> None:
        while not self._eof:
            chunk = self._next_chunk()
            if chunk is None:
                self._eof = True
                buf, self._pending = self._pending, b""
            else:
                buf = self._pending + chunk
                cut = buf.rfind(b"\n") + 1
                if cut == 0:
                    self._pending = buf
                    continue
                buf, self._pending = buf[:cut], buf[cut:]
            if self._transform is not None and buf:
                buf = self._transform(buf)
            if buf:
                self._out = memoryview(buf)
                return

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if not len(self._out):
            self._fill()
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()


def iter_lines(ref: FileRef, encoding: str = "utf-8") -> Iterator[str]:
    """Decoded lines without line ends (slow path: error locating and small files)."""
    with ref.open() as fh:
        text = io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")
        try:
            for line in text:
                yield line.rstrip("\r\n")
        except _ARCHIVE_ERRORS as exc:
            raise corrupt(ref.display, ref.compression() or "file", exc) from None


# -- writing ----------------------------------------------------------------------------------
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _try_lock(fd: int) -> bool:
    """An exclusive, non-blocking ``flock`` on ``fd`` (True where not POSIX)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def remove_stale_temporaries(path: Path) -> list[tuple[Path, int]]:
    """Remove temporary files an interrupted save of ``path`` left behind (``kill -9``).

    A save holds an exclusive lock on its temporary file while writing, so a temporary file
    whose lock can be taken belongs to no running save. Returns (file, bytes) removed.
    """
    folder = path.parent if str(path.parent) else Path(".")
    removed: list[tuple[Path, int]] = []
    try:
        candidates = sorted(folder.glob(f".{glob_escape(path.name)}.*.tmp"))
    except OSError:
        return removed
    for candidate in candidates:
        try:
            fd = os.open(candidate, os.O_RDONLY)
        except OSError:
            continue
        try:
            if not _try_lock(fd):
                continue  # another process is saving this file right now
            size = os.fstat(fd).st_size
            candidate.unlink()
            removed.append((candidate, size))
        except OSError:
            continue
        finally:
            os.close(fd)
    if removed:
        import warnings

        from workbench.errors import WorkbenchWarning

        total = sum(size for _, size in removed)
        names = ", ".join(p.name for p, _ in removed)
        warnings.warn(
            f"removed {len(removed)} stale temporary file(s) in {folder} left by an "
            f"interrupted save of {path.name} ({names}; {total:,} bytes)",
            WorkbenchWarning,
            stacklevel=3,
        )
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob wildcards escaped."""
    import glob

    return glob.escape(name)


def write_atomic(path: Path, write: Any) -> Path:
    """Call ``write(file_object)`` on a temp file beside ``path``, then rename it into place.

    The temp file is locked while it is written; temp files of ``path`` left by a killed
    save (unlocked) are removed first, with a warning that names them.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise WorkbenchError(f"cannot write {path}: folder {folder} does not exist")
    remove_stale_temporaries(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise WorkbenchError(f"cannot write {path}: {exc.strerror or exc}") from None
    _try_lock(fd)  # released when the file is closed, or when this process dies
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
            os.replace(tmp, path)  # still locked: no cleanup can take it before the rename
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # disk full, permission denied, ...: one line
            raise WorkbenchError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
    return path
