"""The ``movielens`` dataset: 100k, 1m, 10m, 20m, 25m, 32m, latest-small and latest.

Loads from a folder or zip archive the user gives (``path=``) as is, or fetches the official
GroupLens archive into the cache folder with pooch (`workbench_datasets.fetch`), verifying its
pinned checksum. Titles and genres
go into ``item_metadata``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from workbench.data import Interactions
from workbench.dataset import Dataset
from workbench.errors import DataError
from workbench.params import Params
from workbench_datasets.tabular import Duplicates, duplicates_field

BASE_URL = "https://files.grouplens.org/datasets/movielens/"


@dataclass(frozen=True)
class Variant:
    """One MovieLens release: its files, format and the archive's pinned checksum."""

    key: str
    archive: str
    ratings: str
    sep: str
    header: bool
    scale: tuple[float, float]
    items: tuple[str, ...]
    checksum: str | None
    size: int | None = None
    md5: str | None = None

    @property
    def folder(self) -> str:
        return self.archive.removesuffix(".zip")


# sha256 and sizes as pinned by TensorFlow Datasets' url_checksums for these exact URLs; the
# MD5s are the ones GroupLens publishes beside each archive (ml-*.zip.md5). For 10m no
# published sha256 was found, so the published MD5 is what is verified.
VARIANTS: dict[str, Variant] = {
    "100k": Variant(
        "100k", "ml-100k.zip", "u.data", "\t", False, (1.0, 5.0), ("u.item", "items.tsv"),
        "sha256:50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229", 4924029,
        "0e33842e24a9c977be4e0107933c0723",
    ),
    "1m": Variant(
        "1m", "ml-1m.zip", "ratings.dat", "::", False, (1.0, 5.0), ("movies.dat",),
        "sha256:a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20", 5917549,
        "c4d9eecfca2ab87c1945afe126590906",
    ),
    "10m": Variant(
        "10m", "ml-10m.zip", "ratings.dat", "::", False, (0.5, 5.0), ("movies.dat",),
        "md5:ce571fd55effeba0271552578f2648bd", None, "ce571fd55effeba0271552578f2648bd",
    ),
    "20m": Variant(
        "20m", "ml-20m.zip", "ratings.csv", ",", True, (0.5, 5.0), ("movies.csv",),
        "sha256:96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3", 198702078,
        "cd245b17a1ae2cc31bb14903e1204af3",
    ),
    "25m": Variant(
        "25m", "ml-25m.zip", "ratings.csv", ",", True, (0.5, 5.0), ("movies.csv",),
        "sha256:8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa", 261978986,
        "6b51fb2759a8657d3bfcbfc42b592ada",
    ),
    "latest-small": Variant(
        "latest-small", "ml-latest-small.zip", "ratings.csv", ",", True, (0.5, 5.0),
        ("movies.csv",),
        "sha256:696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436", 978202,
    ),
    # No published checksum of these two was found: the first fetch records the one seen
    # (trust on first use, workbench_datasets.sources); ml-latest changes over time.
    "32m": Variant(
        "32m", "ml-32m.zip", "ratings.csv", ",", True, (0.5, 5.0), ("movies.csv",), None,
    ),
    "latest": Variant(
        "latest", "ml-latest.zip", "ratings.csv", ",", True, (0.5, 5.0), ("movies.csv",), None,
    ),
}  # fmt: skip
_ENCODING = {"100k": "latin-1", "1m": "latin-1"}


class MovieLensParams(Params):
    variant: Literal["100k", "1m", "10m", "20m", "25m", "32m", "latest-small", "latest"] | None = (
        Field(
            None,
            description="which release (default: found from path's files, else 100k)",
        )
    )
    path: str | None = Field(
        None, description="a folder or zip archive with the files (default: the cache folder)"
    )
    download: bool = Field(
        True, description="download the official archive into the cache when it is not there"
    )
    metadata: bool = Field(True, description="load titles and genres (item_metadata)")
    attributes: bool = Field(
        True,
        description="attach side information: user attributes (100k: age bucket, gender, "
        "occupation from u.user) and item attributes (genres, release years; needs metadata)",
    )
    duplicates: Duplicates | None = duplicates_field()  # type: ignore[assignment]
    mirror: str | None = Field(
        None, description="a base URL to download from instead of files.grouplens.org"
    )
    checksum: str | None = Field(
        None, description="expected checksum of the archive, sha256:HEX (default: the pinned one)"
    )


@dataclass
class _Found:
    variant: Variant
    ratings: object  # FileRef
    root: str


def _candidates(path: Path) -> list[object]:
    """FileRefs of every file under ``path`` (a folder, two levels deep, or a zip)."""
    from workbench.fileio.files import FileRef, sniff_compression, zip_members

    if path.is_file():
        with open(path, "rb") as fh:
            if sniff_compression(fh.read(8)) != "zip":
                raise DataError(
                    f"{path.name}: expected a MovieLens folder or .zip archive (for a single "
                    "ratings file use: tabular path=FILE)"
                )
        return [FileRef(path, m) for m in zip_members(path)]
    refs: list[object] = []
    for pattern in ("*", "*/*"):
        refs += [FileRef(p) for p in sorted(path.glob(pattern)) if p.is_file()]
    return refs


#: Compressed-file endings `tabular` reads (the compression is found from the bytes).
COMPRESSED = (".gz", ".bz2", ".xz", ".zst")


def plain_name(name: str) -> str:
    """``ratings.dat.gz`` -> ``ratings.dat``."""
    for suffix in COMPRESSED:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def locate(path: Path, variant: str | None) -> _Found:
    """Find the ratings file of ``variant`` (or of whichever variant is there) under ``path``."""
    refs = _candidates(path)
    by_name: dict[str, list] = {}
    for ref in refs:
        # u.data.gz, ratings.dat.bz2: compressed files count as the file itself
        by_name.setdefault(plain_name(ref.name), []).append(ref)  # type: ignore[attr-defined]
    wanted = [VARIANTS[variant]] if variant else list(VARIANTS.values())
    for v in wanted:
        hits = sorted(by_name.get(v.ratings, []), key=lambda r: len(str(r.member or r.path)))
        if hits:
            found = v
            if variant is None and v.ratings == "ratings.dat":
                found = _dat_variant(hits[0])
            elif variant is None and v.ratings == "ratings.csv":
                found = _csv_variant(hits[0])
            return _Found(found, hits[0], str(path))
    names = sorted(by_name)[:12]
    looked = (
        f"{VARIANTS[variant].ratings} (MovieLens {variant})"
        if variant
        else ("u.data, ratings.dat or ratings.csv")
    )
    shown = ", ".join(names) if names else "no files"
    raise DataError(f"{path}: no {looked} found (found: {shown})")


def _dat_variant(ref) -> Variant:
    """1m has whole-star ratings; 10m half stars and the ml-10M100K folder."""
    text = ref.read_head(1 << 16).decode("latin-1")
    if "ml-10M" in str(ref.member or ref.path) or any(
        "." in line.split("::")[2] for line in text.splitlines()[:-1] if line.count("::") >= 3
    ):
        return VARIANTS["10m"]
    return VARIANTS["1m"]


def _csv_variant(ref) -> Variant:
    where = str(ref.member or ref.path)
    for key in ("32m", "25m", "20m"):
        if f"ml-{key}" in where:
            return VARIANTS[key]
    if "ml-latest" in where and "ml-latest-small" not in where:
        return VARIANTS["latest"]
    return VARIANTS["latest-small"]


class MovieLens(Dataset):
    """MovieLens ratings (GroupLens): 100k, 1m, 10m, 20m, 25m or latest-small.

    Give path= to a folder or the official zip, or let it download the archive into the
    cache folder ($WORKBENCH_CACHE_DIR, else the platform cache) with a pinned checksum.
    Titles and genres are loaded into item_metadata. The 100k files may be the original
    ones (u.data, u.item) or u.data with a RecBole-style items.tsv.
    """

    name: ClassVar[str] = "movielens"
    Params: ClassVar[type[Params]] = MovieLensParams

    def archive_path(self) -> Path:
        from workbench_datasets.fetch import cache_dir

        variant = VARIANTS[self.params.variant or "100k"]
        return cache_dir() / "movielens" / variant.archive

    def _fetch(self) -> Path:
        from workbench_datasets.fetch import fetch

        p = self.params
        variant = VARIANTS[p.variant or "100k"]
        dest = self.archive_path()
        url = (p.mirror.rstrip("/") + "/" if p.mirror else BASE_URL) + variant.archive
        if not p.download:
            if dest.is_file():
                return dest
            raise DataError(
                f"MovieLens {variant.key} is not in the cache ({dest}); pass path=FOLDER_OR_ZIP, "
                f"put {url} at {dest}, or use download=true"
            )
        return fetch(url, dest, checksum=p.checksum or variant.checksum)

    def load(self) -> Interactions:
        from workbench_datasets.table import load_table

        p = self.params
        if p.path is not None:
            import os

            root = Path(os.path.expanduser(p.path))
            if not root.exists():
                raise DataError(f"no such file or folder: {p.path!r}")
        else:
            root = self._fetch()
        try:
            found = locate(root, p.variant)
        except DataError as exc:
            if p.path is None:
                raise DataError(
                    f"{exc} (it is the cached copy: delete {root} and run again)"
                ) from None
            raise
        v = found.variant
        meta = self._metadata(found) if p.metadata else None
        data = load_table(
            found.ratings,  # type: ignore[arg-type]
            sep=v.sep,
            header=v.header,
            roles={"user": 0, "item": 1, "rating": 2, "timestamp": 3},
            kind="explicit",
            rating_scale=v.scale,
            duplicates=p.duplicates,
            encoding="utf-8",
            name=f"movielens-{v.key}",
            item_metadata=meta,
        )
        if p.attributes:
            data = self._with_attributes(data, found, meta)
        data.meta["variant"] = v.key
        return data.with_provenance(path=Path(found.root), member=None)

    def _with_attributes(self, data: Interactions, found: _Found, meta) -> Interactions:
        from workbench_datasets.attributes import item_attributes_from_metadata, read_u_user

        users = None
        for name in ("u.user", "users.tsv"):
            ref = found.ratings.sibling(name)  # type: ignore[attr-defined]
            if ref.exists():
                users = read_u_user(ref)
                break
        items = item_attributes_from_metadata(meta) if meta is not None else None
        return data.with_attributes(users=users, items=items)

    def _metadata(self, found: _Found):
        from workbench_datasets.metadata import read_item_file, read_u_item

        for name in found.variant.items:
            refs = [found.ratings.sibling(name + end) for end in ("", *COMPRESSED)]  # type: ignore[attr-defined]
            ref = next((r for r in refs if r.exists()), None)
            if ref is None:
                continue
            if name == "u.item":
                return read_u_item(ref)
            if name == "movies.dat":
                return read_item_file(
                    ref, sep="::", header=False, encoding=_ENCODING.get(found.variant.key)
                )
            return read_item_file(
                ref, encoding=_ENCODING.get(found.variant.key) if name != "items.tsv" else None
            )
        return None
