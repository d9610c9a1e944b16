"""Item metadata files: titles and genres, so recommendations can be shown with names.

The result is a DataFrame indexed by external item id with ``title`` and ``genres``
(genres joined by ``|``), the shape `Interactions.item_metadata` expects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.errors import DataError
from workbench.fileio.files import FileRef
from workbench.fileio.textfile import normalise_name, read_columns, sniff

#: The 19 genre flags at the end of MovieLens-100k's u.item, in order (from u.genre).
GENRES_100K = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip

_ID = ("item", "itemid", "id", "movieid", "movie", "artistid", "productid", "asin", "isbn")
_TITLE = ("title", "movietitle", "name", "itemname", "artistname", "booktitle")
_GENRES = ("genres", "genre", "class", "category", "categories")
_YEAR = ("year", "releaseyear")


def _frame(ids: np.ndarray, titles: np.ndarray, genres: np.ndarray | None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "title": pd.Series(titles, dtype=object),
            "genres": pd.Series(genres if genres is not None else [None] * len(ids), dtype=object),
        }
    )
    frame.index = pd.Index(ids, name="item")
    return frame


def _strings(column: pa.ChunkedArray) -> np.ndarray:
    col = column if pa.types.is_string(column.type) else column.cast(pa.string())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)


def _ids(column: pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_integer(column.type):
        return column.to_numpy(zero_copy_only=False).astype(np.int64)
    return _strings(column)


def read_u_item(ref: FileRef) -> pd.DataFrame:
    """MovieLens-100k ``u.item``: ``id|title|release date|video date|IMDb URL|19 genre flags``."""
    layout = sniff(ref, sep="|", header=False, encoding="latin-1")
    if layout.n_fields < 2:
        raise DataError(f"{ref.display}: expected '|'-separated item lines")
    flags = list(range(5, min(layout.n_fields, 5 + len(GENRES_100K))))
    cols, _ = read_columns(layout, [0, 1, *flags], string_columns=[1])
    ids = _ids(cols[0])
    titles = _strings(cols[1])
    genres = None
    if flags:
        matrix = np.column_stack(
            [cols[j].to_numpy(zero_copy_only=False).astype(np.int8) for j in flags]
        )
        names = np.array(GENRES_100K[: len(flags)], dtype=object)
        genres = np.array(["|".join(names[row.astype(bool)]) for row in matrix], dtype=object)
    return _frame(ids, titles, genres)


def read_item_file(
    ref: FileRef,
    *,
    sep: str | None = None,
    header: bool | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """A generic item table: id, title (and genres, year) by header name or position.

    Handles MovieLens ``movies.csv``/``movies.dat``, RecBole-style ``items.tsv``
    (``item_id:token``, ``movie_title:token_seq``, ``release_year``, ``class``), Last.fm
    ``artists.dat`` and the like.
    """
    layout = sniff(ref, sep=sep, header=header, encoding=encoding)
    if layout.header:
        normalised = [normalise_name(n) for n in layout.names]

        def find(aliases: tuple[str, ...]) -> int | None:
            for alias in aliases:
                if alias in normalised:
                    return normalised.index(alias)
            return None

        id_pos = find(_ID)
        id_pos = 0 if id_pos is None else id_pos
        title_pos, genre_pos, year_pos = find(_TITLE), find(_GENRES), find(_YEAR)
    else:
        id_pos, title_pos = 0, 1 if layout.n_fields > 1 else None
        genre_pos = 2 if layout.n_fields > 2 else None
        year_pos = None
    if title_pos is None:
        raise DataError(
            f"{ref.display}: no title column found (columns: {', '.join(layout.names)})"
        )
    wanted = [p for p in (id_pos, title_pos, genre_pos, year_pos) if p is not None]
    text_cols = [p for p in (title_pos, genre_pos, year_pos) if p is not None]
    cols, _ = read_columns(layout, wanted, string_columns=text_cols)
    ids = _ids(cols[id_pos])
    titles = _strings(cols[title_pos])
    if year_pos is not None:
        years = _strings(cols[year_pos])
        titles = np.array(
            [
                t if not y or t.endswith(f"({y})") else f"{t} ({y})"
                for t, y in zip(titles, years, strict=True)
            ],
            dtype=object,
        )
    genres = None
    if genre_pos is not None:
        genres = _strings(cols[genre_pos])
        if normalise_name(layout.names[genre_pos]) == "class":  # RecBole token_seq: space-separated
            genres = np.array([g.replace(" ", "|") for g in genres], dtype=object)
    return _frame(ids, titles, genres)


def align_metadata(meta: pd.DataFrame, data_ids: pd.Series) -> pd.DataFrame:
    """Item metadata indexed like the data's item ids (ints, or strings where the data has them)."""
    if pd.api.types.is_integer_dtype(data_ids.dtype):
        if not pd.api.types.is_integer_dtype(meta.index.dtype):
            numeric = pd.to_numeric(pd.Series(meta.index), errors="coerce")
            keep = numeric.notna().to_numpy()
            meta = meta[keep]
            meta.index = numeric[keep].astype(np.int64).to_numpy()
    else:
        meta = meta.copy()
        meta.index = meta.index.astype(str)
    meta = meta[~meta.index.duplicated(keep="last")]
    meta.index.name = "item"
    return meta
