"""The ``lastfm`` dataset: HetRec 2011 Last.fm play counts (implicit feedback)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from workbench.data import Interactions
from workbench.dataset import Dataset
from workbench.errors import DataError
from workbench.params import Params
from workbench_datasets.tabular import Duplicates, duplicates_field

URL = "https://files.grouplens.org/datasets/hetrec2011/hetrec2011-lastfm-2k.zip"
#: sha256 of the official archive, as pinned by several public dataset loaders.
CHECKSUM = "sha256:6738f48195667ff03caaab4d32ca9a3133d8cc026b7c3cdaf6ce1010e913c59c"
RATINGS = "user_artists.dat"


class LastFMParams(Params):
    path: str | None = Field(
        None,
        description="the hetrec2011-lastfm-2k folder, its zip archive, or user_artists.dat "
        "(default: the cache folder)",
    )
    download: bool = Field(
        True, description="download the official archive into the cache when it is not there"
    )
    mirror: str | None = Field(
        None, description="a URL of the archive to download instead of files.grouplens.org"
    )
    checksum: str | None = Field(
        None, description="expected checksum of the archive, sha256:HEX (default: the pinned one)"
    )
    counts: bool = Field(
        True, description="use play counts as weights (false: each user-artist pair counts 1)"
    )
    names: bool = Field(True, description="load artist names from artists.dat")
    duplicates: Duplicates | None = duplicates_field()  # type: ignore[assignment]


class LastFM(Dataset):
    """Last.fm HetRec 2011: 92,834 user-artist play counts (1,892 users, 17,632 artists).

    Implicit feedback: the value is the play count (or 1 with counts=false); artist names
    from artists.dat go into item_metadata. Give path= to the folder or the zip archive, or
    let it download the official archive into the cache folder with a pinned checksum.
    """

    name: ClassVar[str] = "lastfm"
    Params: ClassVar[type[Params]] = LastFMParams

    def load(self) -> Interactions:
        from workbench_datasets.metadata import read_item_file
        from workbench_datasets.table import load_table

        p = self.params
        root = Path(os.path.expanduser(p.path)) if p.path is not None else self._fetch()
        ref = _ratings(root)
        artists = ref.sibling("artists.dat")
        meta = (
            read_item_file(artists, sep="\t", header=True) if p.names and artists.exists() else None
        )
        roles = {"user": 0, "item": 1, "weight": 2 if p.counts else "-"}
        data = load_table(
            ref,
            sep="\t",
            header=True,
            roles=roles,
            kind="implicit",
            duplicates=p.duplicates,
            name="lastfm",
            item_metadata=meta,
        )
        return data.with_provenance(path=Path(root), member=None)

    def archive_path(self) -> Path:
        from workbench_datasets.fetch import cache_dir

        return cache_dir() / "lastfm" / URL.rsplit("/", 1)[1]

    def _fetch(self) -> Path:
        from workbench_datasets.fetch import fetch

        p = self.params
        dest = self.archive_path()
        url = p.mirror or URL
        if not p.download:
            if dest.is_file():
                return dest
            raise DataError(
                f"Last.fm is not in the cache ({dest}); pass path=FOLDER_OR_ZIP, put {url} at "
                f"{dest}, or use download=true"
            )
        return fetch(url, dest, checksum=p.checksum or CHECKSUM)


def _ratings(root: Path):
    """The user_artists.dat of a folder, a zip archive (any folder inside) or the file itself."""
    from workbench.fileio.files import FileRef, sniff_compression, zip_members

    if root.is_dir():
        root = root / RATINGS
    if not root.is_file():
        raise DataError(f"no such file: {str(root)!r} (expected {RATINGS})")
    with open(root, "rb") as fh:
        is_zip = sniff_compression(fh.read(8)) == "zip"
    if not is_zip:
        return FileRef(root)
    hits = sorted((m for m in zip_members(root) if m.rsplit("/", 1)[-1] == RATINGS), key=len)
    if not hits:
        raise DataError(f"{root.name}: no {RATINGS} in the archive")
    return FileRef(root, hits[0])
