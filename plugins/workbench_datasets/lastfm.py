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


class LastFMParams(Params):
    path: str = Field(
        ..., description="the hetrec2011-lastfm-2k folder (user_artists.dat), or that file"
    )
    counts: bool = Field(
        True, description="use play counts as weights (false: each user-artist pair counts 1)"
    )
    names: bool = Field(True, description="load artist names from artists.dat")
    duplicates: Duplicates | None = duplicates_field()  # type: ignore[assignment]


class LastFM(Dataset):
    """Last.fm HetRec 2011: 92,834 user-artist play counts (1,892 users, 17,632 artists).

    Implicit feedback: the value is the play count (or 1 with counts=false); artist names
    from artists.dat go into item_metadata. The data is not downloadable: give path=.
    """

    name: ClassVar[str] = "lastfm"
    Params: ClassVar[type[Params]] = LastFMParams

    def load(self) -> Interactions:
        from workbench.files import FileRef
        from workbench_datasets.metadata import read_item_file
        from workbench_datasets.table import load_table

        p = self.params
        root = Path(os.path.expanduser(p.path))
        ratings = root / "user_artists.dat" if root.is_dir() else root
        if not ratings.is_file():
            raise DataError(f"no such file: {str(ratings)!r} (expected user_artists.dat)")
        ref = FileRef(ratings)
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
