"""The converted cache: a columnar copy of loaded (and prepared) interactions.

The first load of a text dataset writes its columns as ``.npy`` files (plus the id maps and
a JSON record) into ``CACHE/converted/KEY/``; KEY hashes what the data was made from: the
source files' checksums (or path, size and modification time for a file given by hand),
the reader's options and the preparation. A later load with the same KEY reads the arrays
back (no parsing, no merging: about a Parquet read) and never opens the source. A copy is
written into a temporary folder and renamed into place, so a killed write leaves no copy.
``workbench data cache`` lists copies; ``workbench data cache --clear`` removes them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from workbench.data import IdMap, Interactions
from workbench.errors import DataError
from workbench.jsonvalues import normalise
from workbench_datasets.fetch import cache_dir

#: Bumped when what is stored (or how a reader reads) changes: old copies are not used.
FORMAT = 2
_ARRAYS = ("user", "item", "value", "timestamp")
_SIDES = ("user_attributes", "item_attributes")
_PARTS = ("ids", "features", "indptr", "indices")


def folder() -> Path:
    return cache_dir() / "converted"


def key_of(parts: Mapping[str, Any]) -> str:
    text = json.dumps(normalise({"format": FORMAT, **parts}), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def load(key: str) -> Interactions | None:
    """The cached interactions of ``key``, or None if there is no (complete) copy."""
    where = folder() / key
    record_path = where / "record.json"
    if not record_path.is_file():
        return None
    try:
        record = json.loads(record_path.read_text())
        arrays = {
            name: np.load(where / f"{name}.npy", allow_pickle=False)
            for name in (*_ARRAYS, "users", "items")
            if (where / f"{name}.npy").is_file()
        }
        sides = {side: _load_attributes(where, side) for side in _SIDES}
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{where}: a damaged converted copy ({exc}); run: workbench data cache --clear"
        ) from None
    meta = item_metadata = None
    if (where / "item_metadata.parquet").is_file():
        import pandas as pd

        item_metadata = pd.read_parquet(where / "item_metadata.parquet")
    meta = dict(record.get("meta") or {})
    scale = record.get("rating_scale")
    return Interactions(
        arrays["user"],
        arrays["item"],
        arrays["value"],
        users=IdMap(arrays["users"]),
        items=IdMap(arrays["items"]),
        kind=record["kind"],
        rating_scale=None if scale is None else (scale[0], scale[1]),
        timestamp=arrays.get("timestamp"),
        name=record["name"],
        item_metadata=item_metadata,
        meta=meta,
        user_attributes=sides["user_attributes"],
        item_attributes=sides["item_attributes"],
        validate=False,
    )


def _load_attributes(where: Path, side: str):
    """The stored `Attributes` of ``side`` (user or item side information), or None."""
    from workbench.attributes import Attributes

    if not (where / f"{side}.ids.npy").is_file():
        return None
    parts = {p: np.load(where / f"{side}.{p}.npy", allow_pickle=False) for p in _PARTS}
    return Attributes(
        parts["ids"], tuple(str(f) for f in parts["features"]), parts["indptr"], parts["indices"]
    )


def store(key: str, data: Interactions, describe: Mapping[str, Any]) -> Path:
    """Write ``data`` as the copy of ``key`` (atomically: a temporary folder renamed)."""
    root = folder()
    root.mkdir(parents=True, exist_ok=True)
    target = root / key
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
    try:
        for name in _ARRAYS:
            arr = getattr(data, name)
            if arr is not None:
                np.save(tmp / f"{name}.npy", arr, allow_pickle=False)
        for name, ids in (("users", data.users), ("items", data.items)):
            np.save(tmp / f"{name}.npy", np.asarray(ids.ids), allow_pickle=False)
        for side in _SIDES:
            attributes = getattr(data, side)
            if attributes is not None:
                for part in _PARTS:
                    value = np.asarray(getattr(attributes, part))
                    if part == "features":
                        value = np.asarray(list(value), dtype=str)
                    np.save(tmp / f"{side}.{part}.npy", value, allow_pickle=False)
        if data.item_metadata is not None:
            data.item_metadata.to_parquet(tmp / "item_metadata.parquet")
        record = {
            "format": FORMAT,
            "name": data.name,
            "kind": data.kind,
            "rating_scale": data.rating_scale,
            "meta": normalise(data.meta),
            "rows": len(data),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "source": normalise(dict(describe)),
        }
        (tmp / "record.json").write_text(json.dumps(record, indent=1))
        if target.exists():  # another process wrote the same copy meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
            return target
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def entries() -> list[dict[str, Any]]:
    """One row per cached copy: key, name, rows, size in bytes, created, what it came from."""
    root = folder()
    rows = []
    if not root.is_dir():
        return rows
    for where in sorted(root.iterdir()):
        record_path = where / "record.json"
        if where.name.startswith(".") or not record_path.is_file():
            continue
        try:
            record = json.loads(record_path.read_text())
        except (OSError, ValueError):
            record = {}
        size = sum(p.stat().st_size for p in where.iterdir() if p.is_file())
        rows.append(
            {
                "key": where.name,
                "name": record.get("name"),
                "rows": record.get("rows"),
                "bytes": size,
                "created": record.get("created"),
                "source": record.get("source"),
            }
        )
    return rows


def clear(name: str | None = None) -> int:
    """Remove every copy (or those of dataset ``name``); the number removed."""
    removed = 0
    for row in entries():
        source = row.get("source") or {}
        if name is None or source.get("dataset") == name or row.get("name") == name:
            shutil.rmtree(folder() / row["key"], ignore_errors=True)
            removed += 1
    return removed


def stat_identity(path: Path) -> str | None:
    """Path, size and modification time of a file given by hand; of a folder, those of
    every file in it and one level down (a folder's own time misses edited files). None
    for a pipe or device (its content has no name); OSError for a missing path."""
    import stat

    if path.is_dir():
        files = sorted(p for pattern in ("*", "*/*") for p in path.glob(pattern) if p.is_file())
    elif stat.S_ISREG(path.stat().st_mode):
        files = [path]
    else:
        return None
    text = ";".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    if not path.is_dir():
        return text
    return f"{path.resolve()}/:" + hashlib.sha256(text.encode()).hexdigest()
