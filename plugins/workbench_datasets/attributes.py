"""User and item attribute files (side information) as `workbench.attributes.Attributes`.

- MovieLens-100k ``u.user`` (``id|age|gender|occupation|zip``): age bucket (the ML-1m
  buckets), gender and occupation; the zip code is left out.
- Item attributes from item metadata (any MovieLens release): genres (``|``-separated) and
  the release year in 5-year buckets, read from the title's ``(1995)``.
- ``tabular``'s ``user_attributes=FILE`` / ``item_attributes=FILE``: a delimited file with a
  header; the id column is the first one (or one named id/user/item/...), every other column
  is a categorical field (numbers are categories too: bucket them beforehand); a column named
  genres/genre/tags/categories holds ``|``-separated values.

Fallbacks (documented in docs/datasets.md): a missing value means no feature for that field;
a user/item without a row has no features. Errors: a missing or repeated id (with its line),
and a file none of whose ids occur in the ratings (the wrong file or id column).
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd

from workbench.attributes import Attributes
from workbench.data import IdMap
from workbench.errors import DataError
from workbench.fileio.files import FileRef

#: Age buckets of MovieLens-1M's users.dat, used for 100k's exact ages too.
AGE_EDGES = (18, 25, 35, 45, 50, 56)
AGE_LABELS = ("<18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+")
_MULTI = {"genres", "genre", "tags", "categories", "category", "class"}
_ID_NAMES = ("id", "user", "userid", "user_id", "item", "itemid", "item_id", "movieid")
_YEAR = re.compile(r"\((\d{4})\)\s*$")


def age_bucket(ages: pd.Series) -> pd.Series:
    """ML-1m age bucket labels of numeric ages (NaN stays missing)."""
    num = pd.to_numeric(ages, errors="coerce")
    codes = np.searchsorted(np.array(AGE_EDGES), num.fillna(0).to_numpy(), side="right")
    labels = pd.Series(np.array(AGE_LABELS, dtype=object)[codes], index=ages.index)
    return labels.where(num.notna())


def read_u_user(ref: FileRef) -> Attributes:
    """MovieLens-100k ``u.user`` (or RecBole's ``users.tsv``): age bucket, gender,
    occupation."""
    with ref.open() as fh:
        text = fh.read().decode("latin-1")
    recbole = ref.name.endswith(".tsv")
    frame = pd.read_csv(
        io.StringIO(text), sep="\t" if recbole else "|", header=0 if recbole else None,
        dtype=str, keep_default_na=False,
    )  # fmt: skip
    if frame.shape[1] < 4:
        raise DataError(f"{ref.display}: expected id, age, gender, occupation columns")
    frame = frame.iloc[:, :4]
    frame.columns = ["user", "age", "gender", "occupation"]
    frame = frame.replace("", np.nan)
    frame["age"] = age_bucket(frame["age"])
    return Attributes.from_frame(
        frame, id_column="user", source=ref.display, row_offset=2 if recbole else 1
    )


def item_attributes_from_metadata(meta: pd.DataFrame) -> Attributes | None:
    """Genres and 5-year release bucket (from the title) of an ``item_metadata`` frame."""
    if meta is None or len(meta) == 0:
        return None
    frame = pd.DataFrame({"item": meta.index.to_numpy()})
    if "genres" in meta.columns:
        genres = meta["genres"].astype(object).to_numpy()
        frame["genre"] = [g if isinstance(g, str) and g else np.nan for g in genres]
    if "title" in meta.columns:
        years = []
        for t in meta["title"].astype(object).to_numpy():
            m = _YEAR.search(t) if isinstance(t, str) else None
            y = int(m.group(1)) if m else None
            years.append(f"{y - y % 5}-{y - y % 5 + 4}" if y else np.nan)
        frame["year"] = years
    if frame.shape[1] == 1:
        return None
    return Attributes.from_frame(frame, id_column="item", multi={"genre": "|"}, source="items")


def read_attribute_file(ref: FileRef, known: IdMap, what: str) -> Attributes:
    """A tabular attribute file; ``known`` is the ratings' id map (``what``: user/item)."""
    with ref.open() as fh:
        text = fh.read().decode("utf-8", errors="replace")
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=None, engine="python", dtype=str, keep_default_na=False
        )
    except (pd.errors.ParserError, csv_error()) as exc:
        raise DataError(f"{ref.display}: cannot read the attribute file ({exc})") from None
    frame = frame.rename(columns=lambda c: str(c).strip())
    frame = frame.apply(lambda col: col.str.strip()).replace("", np.nan)
    names = [c.lower() for c in frame.columns]
    id_col = next((frame.columns[names.index(n)] for n in _ID_NAMES if n in names), None)
    id_col = id_col if id_col is not None else frame.columns[0]
    multi = {c: "|" for c in frame.columns if c.lower() in _MULTI}
    attrs = Attributes.from_frame(frame, id_column=id_col, multi=multi, source=ref.display)
    rows = known.index_of(attrs.ids, missing="minus1")
    if len(rows) and (rows < 0).all():
        raise DataError(
            f"{ref.display}: none of its {len(rows)} {what} ids (first: {attrs.ids[0]!r}) occur "
            f"in the ratings; is it the {what} file, and is {id_col!r} the id column?"
        )
    return attrs


def csv_error() -> type[Exception]:
    import csv

    return csv.Error
