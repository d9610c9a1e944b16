"""Public datasets by name: one dataset per catalogue entry (``--data ml-1m``).

Each entry of `workbench_datasets.catalogue` is registered as a dataset of its own name
(a subclass of `PublicDataset` made here), so the registry's look-up, aliases and "did you
mean" serve them like any dataset, ``workbench datasets NAME`` shows their options, and
``--data amazon-2018:Books`` picks a subset. Loading: fetch (or take ``path=``), read with
the entry's reader, prepare (`workbench_datasets.prepare`), keep a converted copy
(`workbench_datasets.convcache`) so the next load skips parsing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from workbench.data import Interactions
from workbench.dataset import Dataset
from workbench.errors import DataError
from workbench.params import Params
from workbench_datasets.catalogue import TOFU, Entry
from workbench_datasets.tabular import Duplicates, duplicates_field

#: Bumped when a reader changes what it returns (old converted copies are then unused).
READER_VERSION = 1


class PreparationParams(Params):
    """Options shared by every public dataset: where the files are, and the preparation."""

    subset: str | None = Field(
        None, description="the part to read (e.g. an Amazon category; NAME:SUBSET sets it)"
    )
    path: str | None = Field(
        None, description="a file, folder or archive you downloaded (default: fetch and cache)"
    )
    download: bool = Field(True, description="download into the cache when it is not there")
    mirror: str | None = Field(
        None,
        description="a base URL serving FOLDER/FILE like the cache folder (default: "
        "$WORKBENCH_DATA_MIRROR, else the dataset's host)",
    )
    checksum: str | None = Field(
        None, description="expected checksum of the (first) file, sha256:HEX"
    )
    duplicates: Duplicates | None = duplicates_field()  # type: ignore[assignment]
    since: str | None = Field(
        None, description="keep interactions at or after this time (a date or Unix seconds)"
    )
    until: str | None = Field(
        None, description="keep interactions before this time (a date or Unix seconds)"
    )
    min_rating: float | None = Field(
        None, description="keep ratings >= this as implicit feedback (a threshold)"
    )
    kcore: int = Field(
        0, ge=0, le=1_000_000,
        description="k-core: keep users and items with at least k interactions, iterated",
    )  # fmt: skip
    sample_users: int | None = Field(
        None, ge=1, description="keep the interactions of this many users, chosen with seed"
    )
    seed: int = Field(0, description="the seed of sample_users")
    cache: bool = Field(
        True, description="keep a converted columnar copy, so the next load skips parsing"
    )


class PublicDataset(Dataset):
    """A public dataset of the catalogue (subclassed once per entry)."""

    name: ClassVar[str] = "public"
    Params: ClassVar[type[Params]] = PreparationParams
    entry: ClassVar[Entry]

    # -- the listing -------------------------------------------------------------------------
    @classmethod
    def card(cls) -> dict[str, Any]:
        """What ``workbench datasets`` shows: size, interactions, kind, licence, citation,
        how to obtain it, and whether it is in the cache."""
        e = cls.entry
        return {
            "title": e.title,
            "size": e.size,
            "interactions": e.interactions,
            "kind": e.kind,
            "licence": e.licence,
            "citation": e.citation,
            "homepage": e.homepage,
            "urls": [r.url for r in e.files],
            "checksums": [r.checksum or TOFU for r in e.files],
            "subsets": list(e.subsets),
            "obtain": e.obtain,
            "cached": cls.cached(),
        }

    @classmethod
    def cached(cls) -> bool | str:
        """True when every file is in the cache (subsets: the names of those that are)."""
        from workbench_datasets.sources import destination

        e = cls.entry
        if not e.files:
            return False
        if e.subsets and "{subset}" in e.files[0].url:
            have = [s for s in e.subsets if destination(e, e.files[0], s).is_file()]
            return ", ".join(have) if have else False
        subset = e.default_subset
        return all(destination(e, r, subset).is_file() for r in e.files)

    @classmethod
    def from_folder(cls, folder: Path, duplicates: str | None = None) -> Interactions | None:
        """The data of a folder that holds this entry's files (None if it does not): a
        MovieLens folder is read as whichever release it is."""
        if not recognise(folder, cls.entry):
            return None
        options = {} if duplicates is None else {"duplicates": duplicates}
        if cls.entry.reader == "movielens":
            from workbench_datasets.movielens import MovieLens

            return MovieLens(path=str(folder), **options).load()
        return cls(path=str(folder), **options).load()

    # -- loading -----------------------------------------------------------------------------
    def fetch(self) -> list[Path]:
        """The entry's files in the cache: downloaded, verified and recorded if not there."""
        from workbench_datasets.sources import fetch_remote

        e, p = self.entry, self.params
        subset = e.subset(p.subset)
        if p.path is not None:
            return [Path(os.path.expanduser(p.path))]
        if e.by_hand or not e.files:
            raise DataError(f"{e.name}: {e.obtain}")
        return [
            fetch_remote(
                e, remote, subset, mirror=p.mirror, download=p.download,
                checksum=p.checksum if i == 0 else None,
            )
            for i, remote in enumerate(e.files)
        ]  # fmt: skip

    def preparation(self):
        from workbench_datasets.prepare import Preparation, parse_time

        p = self.params
        return Preparation(
            since=parse_time(p.since, "since"),
            until=parse_time(p.until, "until"),
            min_rating=p.min_rating,
            kcore=p.kcore,
            sample_users=p.sample_users,
            seed=p.seed,
        )

    def load(self) -> Interactions:
        from workbench_datasets import convcache
        from workbench_datasets.prepare import prepare
        from workbench_datasets.readers import read_entry
        from workbench_datasets.sources import destination, identity, known_identity

        e, p = self.entry, self.params
        subset = e.subset(p.subset)
        prep = self.preparation()  # bad options fail before any download
        # where every file's checksum is known (pinned, given or recorded), the converted
        # copy is found without opening (or fetching, or hashing) the source
        source = None if p.path is not None or not p.cache else known_identity(
            e, subset, p.checksum
        )  # fmt: skip
        paths = None if source is not None else self.fetch()
        source = source or identity(e, subset, paths or [], p.checksum)
        describe = {
            "dataset": e.name,
            "subset": subset,
            "source": source,
            "duplicates": p.duplicates,
            "preparation": prep.as_dict(),
            "reader": READER_VERSION,
        }
        key = convcache.key_of(describe)
        use_cache = p.cache and source is not None  # a pipe given by hand is not named
        data = convcache.load(key) if use_cache else None
        steps: list[dict[str, Any]] | None = None
        if data is None:
            paths = paths or self.fetch()
            data = read_entry(e, paths, subset, p.duplicates)
            data, steps = prepare(data, prep)
            data.meta["preparation"] = steps
            if use_cache:
                convcache.store(key, data, describe)
        else:
            steps = data.meta.get("preparation") or []
        if paths is None:
            paths = [destination(e, r, subset) for r in e.files]
        where = paths[0] if len(paths) == 1 else paths[0].parent
        return data.with_provenance(
            path=where, member=None, preparation=tuple(steps) if steps else None
        )


def make_class(entry: Entry) -> type[PublicDataset]:
    """The dataset class of one catalogue entry (named after it; its docstring says what)."""
    facts = f"{entry.kind} feedback, {entry.size}"
    if entry.interactions:
        facts += f", {entry.interactions:,} interactions"
    how = entry.obtain or "fetched with a checksum into the cache on first use"
    doc = (
        f"{entry.title}: {facts}.\n\nLicence: {entry.licence}. Cite: {entry.citation}\n"
        f"Home: {entry.homepage}. Files: {how}."
    )
    if entry.subsets:
        doc += f"\nSubsets (subset=, or {entry.name}:SUBSET): {', '.join(entry.subsets)}."
    cls_name = "Public_" + entry.name.replace("-", "_").replace(".", "_")
    return type(cls_name, (PublicDataset,), {"name": entry.name, "entry": entry, "__doc__": doc,
                                              "__module__": __name__})  # fmt: skip


def classes() -> list[type[PublicDataset]]:
    from workbench_datasets.catalogue import catalogue

    return [make_class(e) for e in catalogue().values()]


def recognise(folder: Path, entry: Entry) -> bool:
    """Whether a folder holds ``entry``'s files: one of its marks (``a+b``: every one of
    those file names) is found (compressed files count as the file), in the folder itself
    for the MovieLens, Last.fm and Netflix readers (they read it there), else up to one
    level down (as the catalogue's readers look)."""
    from workbench_datasets.movielens import plain_name

    names: set[str] = set()
    builtin = entry.reader in ("movielens", "lastfm", "netflix")
    for pattern in ("*",) if builtin else ("*", "*/*"):
        names |= {plain_name(p.name) for p in folder.glob(pattern)}
    return any(all(n in names for n in mark.split("+")) for mark in entry.marks)
