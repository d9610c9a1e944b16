"""Downloads into the cache folder: streamed, checksum-verified, atomic.

The cache folder is ``$WORKBENCH_CACHE_DIR`` if set, else the platform's user cache folder
(``platformdirs.user_cache_dir("recsys-workbench")``, e.g. ``~/.cache/recsys-workbench``).
A download is written to a temporary ``*.part`` file beside its destination, its size and
checksum are verified, and only then is it renamed into place: an interrupted or corrupt
download never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from workbench.errors import DataError

CACHE_ENV = "WORKBENCH_CACHE_DIR"
_CHUNK = 1 << 20


def cache_dir() -> Path:
    """Where downloads are kept (``$WORKBENCH_CACHE_DIR`` overrides the platform default)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(os.path.expanduser(env))
    import platformdirs

    return Path(platformdirs.user_cache_dir("recsys-workbench"))


def parse_checksum(checksum: str) -> tuple[str, str]:
    """``"sha256:HEX"`` / ``"md5:HEX"`` / bare 64-hex (sha256) -> (algorithm, hex)."""
    algo, sep, digest = checksum.partition(":")
    if not sep:
        algo, digest = ("sha256" if len(checksum) == 64 else "md5"), checksum
    algo = algo.lower()
    if algo not in ("sha256", "md5", "sha1"):
        raise DataError(f"checksum {checksum!r}: unknown algorithm {algo!r} (use sha256:HEX)")
    return algo, digest.lower()


def file_checksum(path: Path, algo: str = "sha256") -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _progress_printer(label: str) -> Callable[[int, int | None], None] | None:
    """A rich progress bar on an interactive stderr, else nothing."""
    if not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        transient=True,
    )
    task = None

    def update(done: int, total: int | None) -> None:
        nonlocal task
        if task is None:
            progress.start()
            task = progress.add_task(label, total=total)
        progress.update(task, completed=done)
        if total is not None and done >= total:
            progress.stop()

    return update


def download(
    url: str,
    dest: Path,
    *,
    checksum: str | None,
    size: int | None = None,
    timeout: float = 60.0,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Fetch ``url`` to ``dest`` (unless it is there), verifying ``checksum``.

    On any failure the partial file is removed and a one-line `DataError` says what to do.
    """
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    algo, expected = parse_checksum(checksum) if checksum else ("sha256", None)
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    advice = (
        f"nothing was saved in {dest.parent}. Check the connection and run the command again, "
        f"or download {url} yourself and pass path=FILE"
    )
    try:
        h = hashlib.new(algo)
        received = 0
        request = urllib.request.Request(url, headers={"User-Agent": "recsys-workbench"})
        if progress is None:
            progress = _progress_printer(f"downloading {dest.name}")
        try:
            with (
                os.fdopen(fd, "wb") as out,
                urllib.request.urlopen(request, timeout=timeout) as resp,
            ):
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else size
                while True:
                    block = resp.read(_CHUNK)
                    if not block:
                        break
                    out.write(block)
                    h.update(block)
                    received += len(block)
                    if progress is not None:
                        progress(received, total)
        except urllib.error.HTTPError as exc:
            raise DataError(
                f"could not download {url}: HTTP {exc.code} {exc.reason}; {advice}"
            ) from None
        except http.client.IncompleteRead as exc:
            got = received + len(exc.partial)
            raise DataError(
                f"the download of {url} was interrupted after {got} bytes; {advice}"
            ) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise DataError(f"could not download {url} ({reason}); {advice}") from None
        if total is not None and received != total:
            raise DataError(
                f"the download of {url} was interrupted: got {received} of {total} bytes; {advice}"
            )
        if expected is not None and h.hexdigest() != expected:
            raise DataError(
                f"the file downloaded from {url} has {algo} {h.hexdigest()}, expected {expected} "
                f"(corrupt, or changed on the server); {advice}"
            )
        os.replace(tmp, dest)
        return dest
    finally:
        tmp.unlink(missing_ok=True)
