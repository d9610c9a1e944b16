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
