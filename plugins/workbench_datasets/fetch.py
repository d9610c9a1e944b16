"""Dataset archives fetched into the cache folder with `pooch`.

The cache folder is ``$WORKBENCH_CACHE_DIR`` if set, else the platform's user cache folder
(``platformdirs.user_cache_dir("recsys-workbench")``, e.g. ``~/.cache/recsys-workbench``).
pooch streams a download to a temporary file beside its destination, verifies the pinned
checksum and only then moves it into place, retrying a failed attempt; a file already in the
cache is verified against the same checksum (and fetched again if it does not match). Every
failure becomes one `DataError` line that says where to put the file by hand.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from workbench.errors import DataError

CACHE_ENV = "WORKBENCH_CACHE_DIR"
#: Attempts after the first one (pooch waits 1 s, 2 s, ... between them).
RETRIES = 2
TIMEOUT = 60.0
_ALGORITHMS = ("sha256", "md5", "sha1")


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
    if algo not in _ALGORITHMS:
        raise DataError(f"checksum {checksum!r}: unknown algorithm {algo!r} (use sha256:HEX)")
    if not digest or not re.fullmatch(r"[0-9a-fA-F]+", digest):
        raise DataError(f"checksum {checksum!r}: expected ALGORITHM:HEX, e.g. sha256:HEX")
    return algo, digest.lower()


class _RichBar:
    """pooch's progress-bar protocol (``total``, ``update``, ``reset``, ``close``) on rich."""

    def __init__(self, label: str):
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        self.total = 0
        self._done = 0
        self._label = label
        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            transient=True,
        )
        self._task: Any = None

    def update(self, n: int) -> None:
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=self.total or None)
        self._done += n
        self._progress.update(self._task, completed=self._done)

    def reset(self) -> None:
        self._done = 0

    def close(self) -> None:
        if self._task is not None:
            self._progress.stop()
            self._task = None


def fetch(
    url: str,
    dest: Path,
    *,
    checksum: str | None,
    retries: int | None = None,
    timeout: float = TIMEOUT,
) -> Path:
    """``dest`` (kept in the cache), downloaded from ``url`` unless a verified copy is there.

    A progress bar shows on an interactive terminal; each failure is a one-line `DataError`
    that names the URL and where to put a copy downloaded by hand.
    """
    import pooch
    import requests

    known = ":".join(parse_checksum(checksum)) if checksum else None
    bar: Any = _RichBar(f"downloading {dest.name}") if sys.stderr.isatty() else False
    store = pooch.create(
        path=dest.parent,
        base_url="",
        registry={dest.name: known},
        urls={dest.name: url},
        retry_if_failed=RETRIES if retries is None else retries,
    )
    downloader = pooch.HTTPDownloader(
        progressbar=bar, timeout=timeout, headers={"User-Agent": "recsys-workbench"}
    )
    advice = (
        f"nothing was saved. Check the connection and run the command again, or download {url} "
        f"yourself and put it at {dest} (or pass path=FILE)"
    )
    try:
        return Path(store.fetch(dest.name, downloader=downloader))
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "error"
        reason = exc.response.reason if exc.response is not None else exc
        raise DataError(f"could not download {url}: HTTP {status} {reason}; {advice}") from None
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
        raise DataError(f"the download of {url} was interrupted; {advice}") from None
    except requests.RequestException as exc:
        raise DataError(f"could not download {url} ({_reason(exc)}); {advice}") from None
    except ValueError as exc:  # pooch: the checksum of the download does not match
        found = re.search(
            r"(\w+) hash of downloaded .*expected (?:\w+:)?(\w+) but got (\w+)", str(exc)
        )
        if found is None:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid"
            raise DataError(f"the file downloaded from {url}: {first}; {advice}") from None
        algo, expected, got = found.groups()
        raise DataError(
            f"the file downloaded from {url} has {algo.lower()} {got}, expected {expected} "
            f"(corrupt, or changed on the server); {advice}"
        ) from None
    except OSError as exc:
        raise DataError(
            f"cannot write {dest}: {exc.strerror or exc}; set {CACHE_ENV} to a writable folder"
        ) from None
    finally:
        if bar:
            bar.close()


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests error, one line."""
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
