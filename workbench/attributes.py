"""`Attributes`: categorical side information about users or items, keyed by external id.

Each row (one user or item) holds a set of *features*, named ``field=value``: a user's
``gender=F``, ``age=25-34``, ``occupation=writer``; an item's ``genre=Comedy``,
``genre=Drama``, ``year=1995-1999``. A multi-valued field (genres) gives one feature per value.
Stored like a CSR matrix (rows x features, all ones): small, immutable and free of pickle.

Datasets attach them to `Interactions` (``user_attributes`` / ``item_attributes``); they are
keyed by external id, so they survive subsets, re-indexing (``align_to``) and new users.

Documented fallbacks (not errors): an entity without a row, or a missing value in a field,
simply has no feature for it; a feature a model did not see in training is ignored by it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench.errors import DataError


@dataclass(frozen=True, eq=False)
class Attributes:
    """Rows of ``field=value`` features: row ``r`` (external id ``ids[r]``) has features
    ``indices[indptr[r]:indptr[r + 1]]`` (positions into ``features``)."""

    ids: np.ndarray
    features: tuple[str, ...]
    indptr: np.ndarray
    indices: np.ndarray

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids)
        if ids.dtype == object or ids.dtype.kind in "SU":
            ids = ids.astype(str)
        elif ids.dtype.kind in "iu":
            ids = ids.astype(np.int64)
        else:
            raise DataError(f"attributes: ids must be integers or strings, got {ids.dtype}")
        indptr = np.ascontiguousarray(self.indptr, dtype=np.int64)
        indices = np.ascontiguousarray(self.indices, dtype=np.int32)
        if indptr.ndim != 1 or len(indptr) != len(ids) + 1 or indptr[0] != 0:
            raise DataError("attributes: indptr must have one entry more than there are ids")
        if np.any(np.diff(indptr) < 0) or indptr[-1] != len(indices):
            raise DataError("attributes: indptr must rise to the number of feature entries")
        if len(indices) and (indices.min() < 0 or indices.max() >= len(self.features)):
            raise DataError("attributes: a feature index is outside the feature names")
        if len(set(self.features)) != len(self.features):
            raise DataError("attributes: feature names must be unique")
        bad = [f for f in self.features if "=" not in f]
        if bad:
            raise DataError(f"attributes: feature {bad[0]!r} is not named field=value")
        dup = pd.Index(ids).duplicated()
        if dup.any():
            raise DataError(f"attributes: id {ids[np.flatnonzero(dup)[0]]!r} appears twice")
        for arr in (ids, indptr, indices):
            arr.flags.writeable = False
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "features", tuple(str(f) for f in self.features))

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_rows(
        cls, ids: Sequence[Any] | np.ndarray, rows: Sequence[Sequence[str]]
    ) -> Attributes:
        """From one list of ``field=value`` feature names per id (features sorted by name)."""
        names = sorted({f for row in rows for f in row})
        pos = {f: k for k, f in enumerate(names)}
        lengths = [len(set(row)) for row in rows]
        indptr = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
        indices = np.fromiter(
            (pos[f] for row in rows for f in sorted(set(row))), dtype=np.int32, count=indptr[-1]
        )
        return cls(np.asarray(ids), tuple(names), indptr, indices)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        id_column: str,
        multi: Mapping[str, str] | None = None,
        source: str = "attributes",
        row_offset: int = 2,
    ) -> Attributes:
        """From a table: the id column and one column per field, values taken as categories.

        ``multi`` maps a field to the separator of its values (``{"genres": "|"}``). A
        missing id is an error naming the line (``row_offset`` + row); a missing value means
        no feature for that field (documented fallback).
        """
        if id_column not in frame.columns:
            raise DataError(f"{source}: no id column {id_column!r}")
        ids = frame[id_column]
        missing = ids.isna().to_numpy()
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise DataError(f"{source}: line {row + row_offset}: the id is missing")
        dup = ids.duplicated().to_numpy()
        if dup.any():
            row = int(np.flatnonzero(dup)[0])
            raise DataError(
                f"{source}: line {row + row_offset}: id {str(ids.iloc[row])!r} appears again"
            )
        fields = [c for c in frame.columns if c != id_column]
        if not fields:
            raise DataError(f"{source}: no attribute columns next to {id_column!r}")
        seps = dict(multi or {})
        rows: list[list[str]] = [[] for _ in range(len(frame))]
        for field in fields:
            col = frame[field]
            present = col.notna().to_numpy()
            values = col.astype(str).str.strip().to_numpy()
            for r in np.flatnonzero(present):
                value = values[r]
                parts = value.split(seps[field]) if field in seps else [value]
                rows[r].extend(f"{field}={v.strip()}" for v in parts if v.strip())
        raw = ids.to_numpy()
        if raw.dtype == object:
            numeric = pd.to_numeric(ids, errors="coerce")
            if numeric.notna().all() and (numeric == numeric.round()).all():
                raw = numeric.to_numpy(dtype=np.int64)
        return cls.from_rows(raw, rows)

    # -- reading ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"Attributes({len(self)} rows, {len(self.features)} features: {self.fields})"

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names, in order of first appearance among the feature names."""
        return tuple(dict.fromkeys(f.split("=", 1)[0] for f in self.features))

    def row_of(self, ids: Any) -> np.ndarray:
        """Row of each external id, -1 where an id has no row (``"42"`` finds 42 and 42
        finds ``"42"``, as `IdMap.index_of` matches ids)."""
        wanted = pd.Index(np.atleast_1d(np.asarray(ids)))
        if self.ids.dtype.kind == "U":
            wanted = wanted.astype(str)
        elif wanted.dtype == object or pd.api.types.is_string_dtype(wanted.dtype):
            numeric = pd.to_numeric(pd.Series(wanted), errors="coerce")
            if numeric.isna().any():
                return np.full(len(wanted), -1, dtype=np.int64)
            wanted = pd.Index(numeric.to_numpy(dtype=np.int64))
        return pd.Index(self.ids).get_indexer(wanted).astype(np.int64)

    def matrix(self, ids: Any, features: Sequence[str] | None = None) -> sp.csr_matrix:
        """len(ids) x features (default: ours) 0/1 matrix. Ids without a row get an empty row;
        features absent from ``features`` (unseen categories) are dropped."""
        rows = self.row_of(ids)
        names = self.features if features is None else tuple(features)
        if features is None:
            remap = np.arange(len(self.features), dtype=np.int64)
        else:
            pos = pd.Index(names).get_indexer(pd.Index(self.features))
            remap = np.asarray(pos, dtype=np.int64)
        own = sp.csr_matrix(
            (np.ones(len(self.indices), dtype=np.float32), self.indices, self.indptr),
            shape=(len(self), len(self.features)),
        )
        safe = np.where(rows >= 0, rows, 0)
        picked = own[safe].tocoo()
        keep = (rows[picked.row] >= 0) & (remap[picked.col] >= 0)
        out = sp.csr_matrix(
            (picked.data[keep], (picked.row[keep], remap[picked.col[keep]])),
            shape=(len(rows), len(names)),
            dtype=np.float32,
        )
        out.sort_indices()
        return out
