"""Where a catalogue entry's files come from: the host or a mirror, pinned or first-seen hash.

- **Mirror.** ``mirror=BASE`` (a dataset option, so also a TOML experiment's ``[dataset]``
  table) or ``$WORKBENCH_DATA_MIRROR`` serves every file as ``BASE/FOLDER/FILE``: the same
  layout as the cache folder, so a site can serve a filled cache with any web server.
- **Checksums.** A pinned checksum is verified on every fetch. An entry without one (no
  published hash) records the sha256 of the first download beside the file
  (``FILE.sha256.json``) and verifies later fetches against it: trust on first use.
- **Archives.** A member of a ``.tar.gz`` is extracted once into the cache folder (bounded
  by ``WORKBENCH_MAX_DATA_BYTES``, written atomically); zip members are read in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path

from workbench.errors import DataError
from workbench_datasets.catalogue import Entry, Remote
from workbench_datasets.convcache import stat_identity
from workbench_datasets.fetch import cache_dir, fetch

MIRROR_ENV = "WORKBENCH_DATA_MIRROR"
RECORD = ".sha256.json"


def mirror_base(option: str | None) -> str | None:
    """The mirror base URL: the option, else ``$WORKBENCH_DATA_MIRROR``, else None."""
    base = option or os.environ.get(MIRROR_ENV, "").strip() or None
    return base.rstrip("/") if base else None


def destination(entry: Entry, remote: Remote, subset: str | None) -> Path:
    return cache_dir() / entry.cache_folder / remote.filename(subset)


def source_url(entry: Entry, remote: Remote, subset: str | None, mirror: str | None) -> str:
    base = mirror_base(mirror)
    if base is None:
        return remote.url_for(subset)
    return f"{base}/{entry.cache_folder}/{remote.filename(subset)}"


def recorded(dest: Path) -> str | None:
    """The sha256 recorded at the first fetch of ``dest`` (``sha256:HEX``), or None."""
    record = dest.with_name(dest.name + RECORD)
    if not record.is_file():
        return None
    try:
        return "sha256:" + str(json.loads(record.read_text())["sha256"])
    except (ValueError, KeyError, TypeError):
        raise DataError(f"{record}: not a checksum record; delete it and fetch again") from None


def pinned(entry: Entry, remote: Remote, subset: str | None) -> str | None:
    """The checksum the catalogue pins (never for subset files: they differ per subset)."""
    return remote.checksum if subset is None else None


def expected_checksum(
    entry: Entry, remote: Remote, subset: str | None, override: str | None
) -> str | None:
    """What a fetched file must hash to: the override, the pinned one, or the recorded one."""
    if override:
        return override
    return pinned(entry, remote, subset) or recorded(destination(entry, remote, subset))


def fetch_remote(
    entry: Entry,
    remote: Remote,
    subset: str | None,
    *,
    mirror: str | None = None,
    checksum: str | None = None,
    download: bool = True,
) -> Path:
    """The cached file of ``remote`` (downloaded, verified and recorded if not there)."""
    from workbench.fileio.files import write_atomic

    dest = destination(entry, remote, subset)
    url = source_url(entry, remote, subset, mirror)
    if not download:
        if dest.is_file():
            return dest
        raise DataError(
            f"{entry.name} is not in the cache ({dest}); run: workbench data fetch {entry.name}"
            f", put {url} at {dest}, or pass path=FILE"
        )
    expected = expected_checksum(entry, remote, subset, checksum)
    dest.parent.mkdir(parents=True, exist_ok=True)
    path = fetch(url, dest, checksum=expected)
    if expected is None:  # trust on first use: record what was seen
        digest = sha256_of(path)
        body = {"url": url, "sha256": digest, "size": path.stat().st_size}
        record = dest.with_name(dest.name + RECORD)
        write_atomic(record, lambda fh: fh.write(json.dumps(body, indent=1).encode()))
    return path


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def identity(
    entry: Entry, subset: str | None, paths: list[Path], checksum: str | None
) -> str | None:
    """What names the source files for the converted cache: their checksums where known
    (pinned or recorded: no file is read), else path, size and modification time; None
    when a path is neither a file nor a folder (a pipe: its content is not named)."""
    parts = []
    for i, path in enumerate(paths):
        remote = entry.files[i] if i < len(entry.files) else None
        known: str | None = None
        if remote is not None and path == destination(entry, remote, subset):
            known = expected_checksum(entry, remote, subset, checksum if i == 0 else None)
        try:
            known = known or stat_identity(path)
        except OSError:  # missing: the read says so
            return None
        if known is None:
            return None
        parts.append(known)
    return "|".join(parts)


def known_identity(entry: Entry, subset: str | None, checksum: str | None) -> str | None:
    """`identity` of the cached files from their known checksums alone (no file is opened),
    or None when a file's checksum is not known yet (or the entry has no files)."""
    if not entry.files:
        return None
    parts = []
    for i, remote in enumerate(entry.files):
        known = expected_checksum(entry, remote, subset, checksum if i == 0 else None)
        if known is None:
            return None
        parts.append(known)
    return "|".join(parts)


def is_tar(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz"))


def tar_member(archive: Path, member: str) -> Path:
    """``member`` (matched by its file name) of a tar archive, extracted once beside it."""
    from workbench.fileio.datalimits import max_data_bytes, size_text
    from workbench.fileio.files import write_atomic

    target = archive.with_name(member.rsplit("/", 1)[-1])
    if target.is_file() and target.stat().st_mtime_ns >= archive.stat().st_mtime_ns:
        return target
    limit = max_data_bytes()
    try:
        with tarfile.open(archive, "r:*") as tar:
            found = next(
                (m for m in tar if m.isfile() and m.name.rsplit("/", 1)[-1] == target.name), None
            )
            if found is None:
                raise DataError(f"{archive.name}: no {target.name} in the archive")
            if limit is not None and found.size > limit:
                raise DataError(
                    f"{archive.name}: {target.name} is {size_text(found.size)}, over the bound "
                    f"of {size_text(limit)} (WORKBENCH_MAX_DATA_BYTES)"
                )
            stream = tar.extractfile(found)
            assert stream is not None  # a regular file

            def copy(fh) -> None:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    fh.write(block)

            write_atomic(target, copy)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(
            f"{archive.name}: the archive is truncated or corrupt ({exc}); delete it and fetch "
            "again"
        ) from None
    return target
