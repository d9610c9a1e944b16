"""The readers of catalogue entries: each file format the public datasets come in.

- ``movielens``, ``lastfm``, ``netflix``: the built-in readers of those releases.
- ``table``: delimited text (any separator, compressed or in a zip/tar), through
  `load_table` (line-exact errors); several files are read as one.
- ``jsonl``: one JSON object per line (``literal``: a Python dict literal per line, as
  UCSD's Steam files are), with the user, item, rating and time fields named.
- ``adjacency``: ``user item item ...`` lines (the LightGCN files).
- ``mind``: MIND ``behaviors.tsv``: each clicked impression (``N123-1``) is a row.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.data import Interactions
from workbench.errors import DataError
from workbench.fileio.files import FileRef, iter_lines, sniff_compression, zip_members
from workbench_datasets.catalogue import Entry
from workbench_datasets.movielens import COMPRESSED, plain_name
from workbench_datasets.sources import is_tar, tar_member


def read_entry(
    entry: Entry, paths: list[Path], subset: str | None, duplicates: str | None
) -> Interactions:
    """Read the files of ``entry`` (fetched ones, or a path the user gave) into interactions."""
    layout = entry.layout
    name = f"{entry.name}:{subset}" if subset else entry.name
    if entry.reader in ("movielens", "lastfm", "netflix"):
        return _builtin(entry, paths[0], duplicates)
    refs = _refs(entry, paths, subset)
    if entry.reader == "table":
        data = _table(refs, layout, entry.kind, duplicates, name)
    elif entry.reader == "jsonl":
        data = _jsonl(refs, layout, entry.kind, duplicates, name)
    elif entry.reader == "adjacency":
        data = _adjacency(refs, duplicates, name)
    elif entry.reader == "mind":
        data = _mind(refs, duplicates, name)
    else:  # pragma: no cover - the catalogue's own consistency
        raise DataError(f"{entry.name}: unknown reader {entry.reader!r}")
    unit = layout.get("time_unit")
    if unit == "ms" and data.timestamp is not None:
        data = data._replace(timestamp=data.timestamp // 1000, provenance=data.provenance)
    return data


def _builtin(entry: Entry, path: Path, duplicates: str | None) -> Interactions:
    from workbench_datasets.lastfm import LastFM
    from workbench_datasets.movielens import MovieLens
    from workbench_datasets.netflix import Netflix

    options: dict[str, Any] = {"path": str(path)}
    if duplicates is not None:
        options["duplicates"] = duplicates
    if entry.reader == "movielens":
        return MovieLens(variant=entry.layout.get("variant"), **options).load()
    if entry.reader == "lastfm":
        return LastFM(**options).load()
    return Netflix(**options).load()


def _members(entry: Entry) -> tuple[str, ...]:
    layout = entry.layout
    if "members" in layout:
        return tuple(layout["members"])
    return (layout["member"],) if "member" in layout else ()


def _refs(entry: Entry, paths: list[Path], subset: str | None) -> list[FileRef]:
    """The files to read: named members of archives or folders, else the files themselves."""
    members = _members(entry)
    wanted = members or tuple(
        plain_name(r.filename(subset)) for r in entry.files
    )  # a folder given by hand holds the files under their download names
    refs: list[FileRef] = []
    for path in paths:
        if not path.exists():
            raise DataError(f"no such file or folder: {str(path)!r}")
        if path.is_dir():
            refs += [_in_folder(path, name) for name in wanted] if wanted else [_sole(path)]
            continue
        if is_tar(path):
            refs += [FileRef(tar_member(path, m)) for m in members]
            continue
        with open(path, "rb") as fh:
            is_zip = sniff_compression(fh.read(8)) == "zip"
        if is_zip and members:
            names = zip_members(path)
            for m in members:
                hits = sorted((n for n in names if _is_member(n, m)), key=len)
                if not hits:
                    raise DataError(f"{path.name}: no {m} in the archive")
                refs.append(FileRef(path, hits[0]))
        elif is_zip:
            refs.append(FileRef(path, _only_member(path)))
        else:
            refs.append(FileRef(path))
    return refs


def _is_member(name: str, wanted: str) -> bool:
    """A zip member ``name`` is ``wanted`` (a file name, or a path ending the member's)."""
    if "/" in wanted:
        return name == wanted or name.endswith("/" + wanted)
    return plain_name(name.rsplit("/", 1)[-1]) == wanted


def _only_member(path: Path) -> str:
    from workbench.fileio.files import single_member

    return single_member(path)


def _sole(folder: Path) -> FileRef:
    """The one file of a folder given for an entry without known file names."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if len(files) != 1:
        raise DataError(
            f"{folder}: holds {len(files)} files; pass path= to the ratings file itself"
        )
    return FileRef(files[0])


def _in_folder(folder: Path, name: str) -> FileRef:
    for pattern in (name, f"*/{name}", f"*/*/{name}"):
        for end in ("", *COMPRESSED):
            hits = sorted(folder.glob(pattern + end))
            if hits:
                return FileRef(hits[0])
    raise DataError(f"{folder}: no {name} found in the folder (two levels deep)")


def _table(
    refs: list[FileRef], layout: Mapping[str, Any], kind: str, duplicates: str | None, name: str
) -> Interactions:
    from workbench_datasets.table import load_table

    keep = layout.get("keep")
    read_kind = "explicit" if keep else kind
    parts = []
    for ref in refs:
        parts.append(
            load_table(
                ref,
                sep=layout.get("sep"),
                header=layout.get("header"),
                roles=layout.get("roles"),
                kind=read_kind,
                rating_scale=None if keep else layout.get("rating_scale"),
                duplicates=duplicates,
                string_ids=bool(layout.get("string_ids", False)),
                encoding=layout.get("encoding"),
                name=name,
            )
        )
    data = parts[0] if len(parts) == 1 else _concat(parts, read_kind, duplicates, name)
    if keep:
        data = _book_crossing(data, keep, layout, duplicates)
    return data


def _concat(parts: list[Interactions], kind: str, duplicates: str | None, name: str):
    frames = [p.to_pandas() for p in parts]
    frame = pd.concat(frames, ignore_index=True)
    ts = (
        "timestamp"
        if "timestamp" in frame.columns and all(p.timestamp is not None for p in parts)
        else None
    )
    return Interactions.from_pandas(
        frame, value="value", timestamp=ts, kind=kind,  # type: ignore[arg-type]
        rating_scale=parts[0].rating_scale, duplicates=duplicates, name=name,  # type: ignore[arg-type]
    )  # fmt: skip


def _book_crossing(
    data: Interactions, keep: str, layout: Mapping[str, Any], duplicates: str | None
) -> Interactions:
    """Book-Crossing: ratings 1-10 are explicit, 0 marks an implicit interaction."""
    from workbench_datasets.prepare import compact

    if keep == "explicit":
        rows = data.value > 0
        return compact(data, rows, rating_scale=layout.get("rating_scale"))
    rows = data.value == 0
    n = int(rows.sum())
    return compact(
        data, rows, value=np.ones(n, dtype=np.float32), kind="implicit", rating_scale=None
    )


def _lines(ref: FileRef, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    for number, line in enumerate(iter_lines(ref, encoding=encoding), start=1):
        if line.strip():
            yield number, line


def _jsonl(
    refs: list[FileRef], layout: Mapping[str, Any], kind: str, duplicates: str | None, name: str
) -> Interactions:
    literal = bool(layout.get("literal", False))
    fields = {r: layout.get(r) for r in ("user", "item", "rating", "timestamp")}
    users: list[Any] = []
    items: list[Any] = []
    ratings: list[float] = []
    times: list[Any] = []
    for ref in refs:
        for number, line in _lines(ref):
            try:
                obj = ast.literal_eval(line) if literal else json.loads(line)
            except (ValueError, SyntaxError) as exc:
                raise DataError(
                    f"{ref.display}, line {number}: not a JSON object ({exc.__class__.__name__})"
                ) from None
            try:
                users.append(obj[fields["user"]])
                items.append(obj[fields["item"]])
                if fields["rating"]:
                    ratings.append(float(obj[fields["rating"]]))
                if fields["timestamp"]:
                    times.append(obj[fields["timestamp"]])
            except (KeyError, TypeError, ValueError) as exc:
                raise DataError(
                    f"{ref.display}, line {number}: expected the fields "
                    f"{', '.join(f for f in fields.values() if f)} ({exc!s})"
                ) from None
    if not users:
        raise DataError(f"{refs[0].display}: no interactions (the file is empty)")
    stamps = _timestamps(times, refs[0].display) if times else None
    values = np.asarray(ratings, dtype=np.float64) if fields["rating"] else None
    return Interactions.from_arrays(
        np.asarray(users).astype(str), np.asarray(items).astype(str), values,
        timestamps=stamps, kind="explicit" if values is not None and kind == "explicit"
        else "implicit", rating_scale=layout.get("rating_scale"),
        duplicates=duplicates, name=name,  # type: ignore[arg-type]
    )  # fmt: skip


def _timestamps(values: list[Any], where: str) -> np.ndarray:
    """Unix seconds from numbers or date text (``2017-12-17``, ``2016-03-09 00:44:52``)."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int64)
    try:
        stamps = pd.to_datetime(pd.Series(values, dtype=str), utc=True, format="mixed")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{where}: a time is neither a number nor a date ({exc})") from None
    return (stamps.astype("int64") // 10**9).to_numpy()


def _adjacency(refs: list[FileRef], duplicates: str | None, name: str) -> Interactions:
    users: list[int] = []
    items: list[int] = []
    for ref in refs:
        for number, line in _lines(ref):
            try:
                ids = [int(t) for t in line.split()]
            except ValueError:
                raise DataError(
                    f"{ref.display}, line {number}: expected integer ids 'user item item ...'"
                ) from None
            users += [ids[0]] * (len(ids) - 1)
            items += ids[1:]
    if not users:
        raise DataError(f"{refs[0].display}: no interactions (no line has an item)")
    return Interactions.from_arrays(
        np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64), None,
        kind="implicit", duplicates=duplicates, name=name,  # type: ignore[arg-type]
    )  # fmt: skip


def _mind(refs: list[FileRef], duplicates: str | None, name: str) -> Interactions:
    ref = refs[0]
    users: list[str] = []
    items: list[str] = []
    times: list[str] = []
    for number, line in _lines(ref):
        cols = line.rstrip("\r\n").split("\t")
        if len(cols) != 5:
            raise DataError(
                f"{ref.display}, line {number}: expected 5 tab-separated columns "
                f"(impression, user, time, history, impressions), found {len(cols)}"
            )
        for token in cols[4].split():
            news, _, label = token.rpartition("-")
            if label == "1":
                users.append(cols[1])
                items.append(news)
                times.append(cols[2])
    if not users:
        raise DataError(f"{ref.display}: no clicked impressions")
    stamps = pd.to_datetime(pd.Series(times), format="%m/%d/%Y %I:%M:%S %p", utc=True)
    return Interactions.from_arrays(
        np.asarray(users), np.asarray(items), None,
        timestamps=(stamps.astype("int64") // 10**9).to_numpy(), kind="implicit",
        duplicates=duplicates, name=name,  # type: ignore[arg-type]
    )  # fmt: skip
