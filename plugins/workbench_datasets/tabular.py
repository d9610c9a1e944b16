"""The ``tabular`` dataset: any delimited text file (compressed or not) or Parquet file."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from workbench.data import Interactions
from workbench.dataset import Dataset
from workbench.params import Params

Duplicates = Literal["error", "last", "first", "mean", "sum"]
ColumnRef = str | int | None


def duplicates_field() -> object:
    return Field(
        None,
        description="repeated (user, item) rows: error, last, first, mean or sum "
        "(default: last for ratings, sum for implicit counts)",
    )


class TabularParams(Params):
    path: str = Field(
        ..., description="the file: CSV/TSV/any separator, .gz/.bz2/.xz/.zip, or Parquet"
    )
    member: str | None = Field(None, description="the file inside a zip archive holding several")
    sep: str | None = Field(
        None,
        description="separator: tab, ',', '::', ';', '|', space, whitespace or any string "
        "(default: detected)",
    )
    header: bool | None = Field(
        None, description="the first line names the columns (default: detected)"
    )
    columns: list[str] | str | None = Field(
        None, description="names for the file's columns in order, e.g. user,item,rating,timestamp"
    )
    user: ColumnRef = Field(None, description="user id column: a name or 0-based position")
    item: ColumnRef = Field(None, description="item id column: a name or 0-based position")
    rating: ColumnRef = Field(None, description="rating column ('-' for none)")
    timestamp: ColumnRef = Field(
        None, description="timestamp column: Unix seconds or dates ('-' for none)"
    )
    weight: ColumnRef = Field(
        None, description="implicit data: a count/weight column (default: each row counts 1)"
    )
    fold: ColumnRef = Field(None, description="a fold-id column, for the 'predefined' splitter")
    kind: Literal["auto", "explicit", "implicit"] = Field(
        "auto",
        description="explicit ratings or implicit feedback (auto: by whether there is a rating)",
    )
    rating_scale: str | list[float] | None = Field(
        None,
        description="allowed ratings, e.g. 1-5 or 0.5-5; others are an error (default: min..max)",
    )
    duplicates: Duplicates | None = duplicates_field()  # type: ignore[assignment]
    string_ids: bool = Field(False, description="keep ids as strings (e.g. ids with leading zeros)")
    encoding: str | None = Field(
        None, description="text encoding (default: UTF-8, falling back to Latin-1)"
    )
    items: str | None = Field(
        None, description="an item file with id, title (and genres) columns, to show names"
    )
    label: str | None = Field(
        None,
        description="the dataset's name in reports (default: the file name); was name=, "
        "which collided with the dataset name",
    )

    @model_validator(mode="before")
    @classmethod
    def _old_name(cls, values: object) -> object:
        """``name=`` (before ``label=``) still works, with a warning naming the replacement."""
        if isinstance(values, dict) and "name" in values and "label" not in values:
            import warnings

            from workbench.errors import WorkbenchWarning

            warnings.warn(
                "tabular option name= is deprecated: use label= (the dataset's name in reports)",
                WorkbenchWarning,
                stacklevel=2,
            )
            values = {("label" if k == "name" else k): v for k, v in values.items()}
        return values

    user_attributes: str | None = Field(
        None,
        description="a user attribute file (header; id column first, then categorical "
        "columns), side information for models such as svdpp-attr",
    )
    item_attributes: str | None = Field(
        None,
        description="an item attribute file (header; id column first, then categorical "
        "columns; a genres column may hold |-separated values)",
    )
    cache: bool = Field(
        False,
        description="keep a converted columnar copy keyed by the file's path, size and "
        "modification time and these options; the next load reads it (about a Parquet read)",
    )


class Tabular(Dataset):
    """Any table of interactions: CSV, TSV, '::' or other separators, gzip/zip, or Parquet.

    Columns are found by header name (userId, movieId, rating, timestamp, weight, ...) or by
    position (user, item, rating, timestamp for headerless files); map them with
    user=/item=/rating=/timestamp=. Without a rating column the data is implicit: each row
    counts 1, or weight=COLUMN gives play counts. Example:
    ``tabular path=ratings.dat sep=:: header=false``.
    """

    name: ClassVar[str] = "tabular"
    Params: ClassVar[type[Params]] = TabularParams

    def load(self) -> Interactions:
        from workbench.fileio.files import resolve_path
        from workbench_datasets.metadata import read_item_file
        from workbench_datasets.table import load_table, parse_scale

        p = self.params
        import os
        from pathlib import Path

        folder = Path(os.path.expanduser(p.path))
        if folder.is_dir() and p.member is None:
            return _known_folder(folder, p.duplicates)
        if p.cache:
            return _through_cache(self)
        ref = resolve_path(p.path, member=p.member)
        meta = read_item_file(resolve_path(p.items)) if p.items else None
        roles = {
            r: getattr(p, r) for r in ("user", "item", "rating", "timestamp", "weight", "fold")
        }
        data = load_table(
            ref,
            sep=p.sep,
            header=p.header,
            columns=p.columns,
            roles=roles,
            kind=p.kind,
            rating_scale=parse_scale(p.rating_scale),
            duplicates=p.duplicates,
            string_ids=p.string_ids,
            encoding=p.encoding,
            name=p.label,
            item_metadata=meta,
        )
        if p.user_attributes or p.item_attributes:
            from workbench_datasets.attributes import read_attribute_file

            users = items = None
            if p.user_attributes:
                users = read_attribute_file(resolve_path(p.user_attributes), data.users, "user")
            if p.item_attributes:
                items = read_attribute_file(resolve_path(p.item_attributes), data.items, "item")
            data = data.with_attributes(users=users, items=items)
        return data


def _known_folder(folder, duplicates: str | None) -> Interactions:
    """A folder given as a path: read by the first dataset that recognises it as a release
    it reads (a MovieLens folder as ``movielens``), else a one-line error."""
    from workbench.errors import DataError
    from workbench.plugins import get_registry

    for entry in get_registry().list("dataset"):
        from_folder = getattr(entry.obj, "from_folder", None)
        if callable(from_folder):
            data = from_folder(folder, duplicates)
            if data is not None:
                return data
    raise DataError(
        f"{str(folder)!r} is a folder; give the path of a data file (or a folder of a known "
        "release: MovieLens, Last.fm, Netflix, ...; see workbench datasets)"
    )


def _through_cache(dataset: Tabular) -> Interactions:
    """Load through the converted cache (`workbench_datasets.convcache`), keyed by the
    options and the path, size and modification time of every file read."""
    import os
    from pathlib import Path

    from workbench_datasets import convcache
    from workbench_datasets.convcache import stat_identity

    p = dataset.params
    options = {k: v for k, v in dataset.get_params().items() if k != "cache"}
    named = [p.path, p.items, p.user_attributes, p.item_attributes]
    try:
        stats = [stat_identity(Path(os.path.expanduser(f))) for f in named if f]
    except OSError:  # a missing file: the plain load says so (with "did you mean")
        stats = [None]
    if any(s is None for s in stats):  # or a pipe: read as usual, no copy
        return Tabular(**{**options, "cache": False}).load()
    source = "|".join(s for s in stats if s is not None)
    describe = {"dataset": "tabular", "source": source, "options": options}
    key = convcache.key_of(describe)
    data = convcache.load(key)
    if data is None:
        data = Tabular(**{**options, "cache": False}).load()
        if data.provenance.folds is None:  # a fold column is not kept in the copy
            convcache.store(key, data, describe)
        return data
    return data.with_provenance(path=Path(os.path.expanduser(p.path)), member=p.member)
