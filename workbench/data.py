"""`Interactions`: the columnar data type that flows between plugins.

User and item indices are contiguous int32, values float32, timestamps optional int64,
with `IdMap`s from external ids (ints or strings) to indices and back. About 16 bytes per
interaction; CSR/CSC views are built on demand and cached. Never a dense matrix.

Subsets (splits) keep the id maps, so a model fitted on train can be asked about any user or
item of the dataset; users/items with no train data are *cold*.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench.attributes import Attributes
from workbench.errors import DataError, RowError
from workbench.provenance import Provenance

Kind = Literal["explicit", "implicit"]
DuplicatePolicy = Literal["error", "last", "first", "mean", "sum"]
DUPLICATE_POLICIES: tuple[str, ...] = ("error", "last", "first", "mean", "sum")


class IdMap:
    """A bijection between external ids (ints or strings) and indices ``0..n-1``."""

    __slots__ = ("_index",)

    def __init__(self, ids: Sequence[Any] | np.ndarray | pd.Index):
        index = pd.Index(ids)
        if index.dtype == object or pd.api.types.is_string_dtype(index.dtype):
            index = pd.Index(np.asarray(index.astype(str), dtype=str), dtype=object)
        elif pd.api.types.is_integer_dtype(index.dtype):
            index = index.astype(np.int64)
        if not index.is_unique:
            dup = index[index.duplicated()][0]
            raise DataError(f"id map: id {dup!r} appears more than once")
        self._index = index

    @classmethod
    def factorize(cls, values: Any) -> tuple[IdMap, np.ndarray]:
        """Map raw id values to indices; ids are sorted so the map ignores row order."""
        dense = _dense_int_factorize(values)
        if dense is not None:
            return cls(dense[0]), dense[1]
        codes, uniques = pd.factorize(pd.Series(values), sort=True)
        return cls(uniques), codes.astype(np.int32)

    @property
    def ids(self) -> np.ndarray:
        """External ids in index order (int64 or str)."""
        values = self._index.to_numpy()
        return values.astype(str) if values.dtype == object else values

    @property
    def is_string(self) -> bool:
        return self._index.dtype == object

    def __len__(self) -> int:
        return len(self._index)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and (
            self is other or (len(self) == len(other) and self._index.equals(other._index))
        )

    def __hash__(self) -> int:  # pragma: no cover - maps are compared, not hashed
        return id(self)

    def __repr__(self) -> str:
        return f"IdMap({len(self)} ids)"

    def _normalise(self, ids: Any) -> pd.Index:
        arr = pd.Index(np.atleast_1d(np.asarray(ids)))
        if self.is_string:
            return arr.astype(str)
        if arr.dtype == object or pd.api.types.is_string_dtype(arr.dtype):
            # allow "42" for integer ids (CLI input)
            try:
                return pd.Index(pd.to_numeric(arr, errors="raise")).astype(np.int64)
            except (ValueError, TypeError, OverflowError):  # beyond int64: no integer id
                return arr
        return arr

    def index_of(self, ids: Any, *, missing: Literal["error", "minus1"] = "error") -> np.ndarray:
        """Indices of external ids; unknown ids raise, or map to -1 with ``missing="minus1"``."""
        wanted = self._normalise(ids)
        idx = self._index.get_indexer(wanted)
        if missing == "error" and (idx < 0).any():
            bad = wanted[np.flatnonzero(idx < 0)[0]]
            raise DataError(f"unknown id {bad!r}")
        return idx.astype(np.int64)

    def id_of(self, indices: Any) -> np.ndarray:
        """External ids of indices."""
        return self.ids[np.asarray(indices, dtype=np.int64)]

    def extend(self, ids: Any) -> IdMap:
        """A new map with unseen ``ids`` appended after the existing ones (order kept)."""
        wanted = self._normalise(ids).unique()
        new = wanted[self._index.get_indexer(wanted) < 0]
        if len(new) == 0:
            return self
        if not self.is_string and not pd.api.types.is_numeric_dtype(new.dtype):
            raise DataError(
                f"id {new[0]!r} is not an integer, but the ids it is matched against are"
            )
        return IdMap(self._index.append(pd.Index(new, dtype=self._index.dtype)))


def _checked_attributes(value: Any, field: str, name: str) -> Attributes | None:
    if value is not None and not isinstance(value, Attributes):
        raise DataError(
            f"{name}: {field} must be workbench.attributes.Attributes, got {type(value).__name__}"
        )
    return value


#: Rows converted at a time by the chunked loops (bounds their temporaries).
_CHUNK = 1 << 20


def _dense_int_factorize(values: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """`pd.factorize(sort=True)` of int64 ids whose range is at most a few times their number
    (the usual case: ids 1..n), by a presence table instead of a hash table: the same result
    in O(n) time with 4 bytes a row of temporaries. None when it does not apply."""
    if not isinstance(values, np.ndarray) or values.dtype != np.int64 or len(values) < _CHUNK:
        return None
    lo, hi = int(values.min()), int(values.max())
    span = hi - lo + 1
    if span > 4 * len(values) + _CHUNK:
        return None
    present = np.zeros(span, dtype=bool)
    for start in range(0, len(values), _CHUNK):
        present[values[start : start + _CHUNK] - lo] = True
    lookup = np.cumsum(present, dtype=np.int64).astype(np.int32) - 1
    codes = np.empty(len(values), dtype=np.int32)
    for start in range(0, len(values), _CHUNK):
        codes[start : start + _CHUNK] = lookup[values[start : start + _CHUNK] - lo]
    return np.flatnonzero(present) + lo, codes


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


class Interactions:
    """User-item interactions (explicit ratings or implicit counts/weights).

    Build with `Interactions.from_pandas` or `Interactions.from_arrays`. Arrays are read-only.
    """

    def __init__(
        self,
        user: np.ndarray,
        item: np.ndarray,
        value: np.ndarray,
        *,
        users: IdMap,
        items: IdMap,
        kind: Kind = "explicit",
        rating_scale: tuple[float, float] | None = None,
        timestamp: np.ndarray | None = None,
        name: str = "data",
        item_metadata: pd.DataFrame | None = None,
        meta: dict[str, Any] | None = None,
        provenance: Provenance | None = None,
        validate: bool = True,
        user_attributes: Attributes | None = None,
        item_attributes: Attributes | None = None,
    ):
        # Views: marking them read-only below never touches the caller's arrays.
        self.user = np.ascontiguousarray(user, dtype=np.int32).view()
        self.item = np.ascontiguousarray(item, dtype=np.int32).view()
        self.value = np.ascontiguousarray(value, dtype=np.float32).view()
        self.timestamp = (
            None if timestamp is None else np.ascontiguousarray(timestamp, dtype=np.int64).view()
        )
        self.users = users
        self.items = items
        self.kind: Kind = kind
        self.rating_scale = (
            None if rating_scale is None else (float(rating_scale[0]), float(rating_scale[1]))
        )
        self.name = name
        self.item_metadata = item_metadata
        self.meta: dict[str, Any] = dict(meta or {})
        #: Where the data came from (typed): spec, location, fold column; see `Provenance`.
        self.provenance = provenance if provenance is not None else Provenance()
        if self.provenance.folds is not None and len(self.provenance.folds.labels) != len(user):
            raise DataError(
                f"{name}: {len(self.provenance.folds.labels)} fold ids for {len(user)} rows"
            )
        self._fingerprint: str | None = None
        #: Side information (categorical features by external id), or None.
        self.user_attributes = _checked_attributes(user_attributes, "user_attributes", name)
        self.item_attributes = _checked_attributes(item_attributes, "item_attributes", name)
        for arr in (self.user, self.item, self.value, self.timestamp):
            if arr is not None:
                arr.flags.writeable = False
        if validate:
            self._validate()

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        users: Any,
        items: Any,
        values: Any = None,
        *,
        timestamps: Any = None,
        kind: Kind = "explicit",
        rating_scale: tuple[float, float] | None = None,
        duplicates: DuplicatePolicy | None = None,
        name: str = "data",
        source: str | None = None,
        item_metadata: pd.DataFrame | None = None,
    ) -> Interactions:
        """From parallel arrays of external user ids, item ids and values.

        ``values`` may be omitted for implicit data (each row counts 1).
        """
        where = source or name
        n = len(users)
        lengths = {"users": n, "items": len(items)}
        if values is not None:
            lengths["values"] = len(values)
        if timestamps is not None:
            lengths["timestamps"] = len(timestamps)
        if len(set(lengths.values())) > 1:
            desc = ", ".join(f"{k}={v}" for k, v in lengths.items())
            raise DataError(f"{where}: columns have different lengths ({desc})")
        frame = {"user": users, "item": items}
        if values is not None:
            frame["value"] = values
        if timestamps is not None:
            frame["timestamp"] = timestamps
        return cls.from_pandas(
            pd.DataFrame(frame),
            value="value" if values is not None else None,
            timestamp="timestamp" if timestamps is not None else None,
            kind=kind,
            rating_scale=rating_scale,
            duplicates=duplicates,
            name=name,
            source=source,
            item_metadata=item_metadata,
        )

    @classmethod
    def from_pandas(
        cls,
        df: pd.DataFrame,
        *,
        user: str = "user",
        item: str = "item",
        value: str | None = "rating",
        timestamp: str | None = None,
        kind: Kind = "explicit",
        rating_scale: tuple[float, float] | None = None,
        duplicates: DuplicatePolicy | None = None,
        name: str = "data",
        source: str | None = None,
        item_metadata: pd.DataFrame | None = None,
        row_offset: int = 1,
    ) -> Interactions:
        """From a DataFrame with one row per interaction.

        - ``value=None``: implicit data where each row counts 1.
        - ``rating_scale``: explicit data is checked against it; inferred (min, max) if None.
        - ``duplicates``: what to do with repeated (user, item) rows: ``error``, ``last``,
          ``first``, ``mean`` or ``sum``. Default: ``last`` for explicit, ``sum`` for implicit.
        - ``row_offset``: added to 0-based row positions in error messages (file line numbers).
        """
        where = source or name
        if kind not in ("explicit", "implicit"):
            raise DataError(f"{where}: kind must be 'explicit' or 'implicit', got {kind!r}")
        for col in (user, item, value, timestamp):
            if col is not None and col not in df.columns:
                cols = ", ".join(map(str, df.columns))
                raise DataError(f"{where}: no column {col!r} (columns: {cols})")
        if len(df) == 0:
            raise DataError(f"{where}: no interactions (the input is empty)")
        for col in (user, item):
            missing = df[col].isna().to_numpy()
            if missing.any():
                row = _first_bad(missing)
                raise RowError(where, row, f"{col} id is missing", row_offset)
        if value is None:
            if kind == "explicit":
                raise DataError(f"{where}: explicit data needs a rating column")
            vals = np.ones(len(df), dtype=np.float32)
        else:
            raw = df[value]
            numeric = pd.to_numeric(raw, errors="coerce")
            bad = numeric.isna().to_numpy() & ~raw.isna().to_numpy()
            if bad.any():
                row = _first_bad(bad)
                raise RowError(where, row, f"{value} {raw.iloc[row]!r} is not a number", row_offset)
            vals = numeric.to_numpy(dtype=np.float64)
            nonfinite = ~np.isfinite(vals)
            too_large = np.abs(np.where(nonfinite, 0.0, vals)) > np.finfo(np.float32).max
            if too_large.any():  # values are stored as float32: this would become inf
                row = _first_bad(too_large)
                raise RowError(
                    where,
                    row,
                    f"{value} {vals[row]:g} is too large (values are stored as 32-bit floats, "
                    "at most 3.4e38)",
                    row_offset,
                )
            if nonfinite.any():
                row = _first_bad(nonfinite)
                raise RowError(
                    where, row, f"{value} is {vals[row]} (expected a finite number)", row_offset
                )
            if kind == "explicit" and rating_scale is not None:
                lo, hi = rating_scale
                out = (vals < lo) | (vals > hi)
                if out.any():
                    row = _first_bad(out)
                    raise RowError(
                        where,
                        row,
                        f"{value} {vals[row]:g} is outside the rating scale {lo:g}..{hi:g}",
                        row_offset,
                    )
            if kind == "implicit":
                neg = vals < 0
                if neg.any():
                    row = _first_bad(neg)
                    raise RowError(
                        where,
                        row,
                        f"{value} {vals[row]:g} is negative (implicit weights must be >= 0)",
                        row_offset,
                    )
        ts = None
        if timestamp is not None:
            ts_raw = df[timestamp]
            if pd.api.types.is_datetime64_any_dtype(ts_raw):
                missing = ts_raw.isna().to_numpy()
                if missing.any():
                    row = _first_bad(missing)
                    raise RowError(where, row, f"{timestamp} is missing", row_offset)
                if getattr(ts_raw.dt, "tz", None) is not None:
                    ts_raw = ts_raw.dt.tz_convert("UTC").dt.tz_localize(None)
                ts = (ts_raw.astype("datetime64[s]").astype(np.int64)).to_numpy()
            else:
                ts_num = pd.to_numeric(ts_raw, errors="coerce")
                bad = ts_num.isna().to_numpy()
                if bad.any():
                    row = _first_bad(bad)
                    raise RowError(
                        where, row, f"{timestamp} {ts_raw.iloc[row]!r} is not a number", row_offset
                    )
                ts = ts_num.to_numpy(dtype=np.int64)
        users, ucode = IdMap.factorize(df[user].to_numpy())
        items, icode = IdMap.factorize(df[item].to_numpy())
        return cls.from_codes(
            ucode,
            icode,
            vals,
            users=users,
            items=items,
            timestamps=ts,
            kind=kind,
            rating_scale=rating_scale,
            duplicates=duplicates,
            name=name,
            source=source,
            item_metadata=item_metadata,
            row_offset=row_offset,
            labels=(user, item),
            id_at=lambda col, row: str(df[col].iloc[row]),
        )

    @classmethod
    def from_codes(
        cls,
        ucode: np.ndarray,
        icode: np.ndarray,
        values: np.ndarray,
        *,
        users: IdMap,
        items: IdMap,
        timestamps: np.ndarray | None = None,
        kind: Kind = "explicit",
        rating_scale: tuple[float, float] | None = None,
        duplicates: DuplicatePolicy | None = None,
        name: str = "data",
        source: str | None = None,
        item_metadata: pd.DataFrame | None = None,
        row_offset: int = 1,
        labels: tuple[str, str] = ("user", "item"),
        id_at: Callable[[str, int], str] | None = None,
    ) -> Interactions:
        """From checked columns: int32 codes into ``users``/``items`` (as `IdMap.factorize`
        gives them), finite values (float64, or float32 where that is exact for duplicates
        merged by mean or sum), int64 timestamps. Repeated pairs are merged by
        ``duplicates`` as in `from_pandas`; ``id_at(label, row)`` is how messages show the
        external id of ``labels``' user or item column at a 0-based row (default: from the
        id maps)."""
        where = source or name
        user, item = labels
        if id_at is None:
            originals = {user: (users, ucode), item: (items, icode)}

            def id_at(col: str, row: int) -> str:
                ids, codes = originals[col]
                return str(ids.id_of(codes[row])[0])

        policy = duplicates or ("last" if kind == "explicit" else "sum")
        ucode, icode, vals, ts, merged, repeat = _merge_duplicates(
            ucode, icode, values, timestamps, len(items), policy, where, row_offset, id_at,
            user, item,
        )  # fmt: skip
        first_repeat = (
            None
            if repeat < 0
            else {"row": repeat, "user": id_at(user, repeat), "item": id_at(item, repeat)}
        )
        inferred = kind == "explicit" and rating_scale is None
        if inferred:  # from the values as stored (float32), so every value is inside it
            stored = np.asarray(vals, dtype=np.float32)
            rating_scale = (float(stored.min()), float(stored.max()))
        elif kind == "explicit" and merged and policy == "sum":
            lo, hi = rating_scale
            out = (vals < lo) | (vals > hi)
            if out.any():
                raise DataError(
                    f"{where}: duplicates=sum gives {float(vals[out][0]):g} for a repeated "
                    f"(user, item) pair, outside the rating scale {lo:g}..{hi:g} "
                    "(for ratings use duplicates=last, first or mean)"
                )
        return cls(
            ucode,
            icode,
            vals,
            users=users,
            items=items,
            kind=kind,
            rating_scale=rating_scale,
            timestamp=ts,
            name=name,
            item_metadata=item_metadata,
            meta={
                "duplicates_merged": merged,
                "duplicate_policy": policy,
                "first_duplicate": first_repeat,
                "rating_scale_inferred": inferred,
            },
        )

    def _validate(self) -> None:
        n = len(self.user)
        if (
            len(self.item) != n
            or len(self.value) != n
            or (self.timestamp is not None and len(self.timestamp) != n)
        ):
            raise DataError(f"{self.name}: user, item, value and timestamp lengths differ")
        if n and (self.user.min() < 0 or self.user.max() >= len(self.users)):
            raise DataError(f"{self.name}: user index outside the user id map")
        if n and (self.item.min() < 0 or self.item.max() >= len(self.items)):
            raise DataError(f"{self.name}: item index outside the item id map")
        if n and not np.isfinite(self.value).all():
            raise DataError(f"{self.name}: values must be finite")

    def _replace(self, **changes: Any) -> Interactions:
        state = {
            "user": self.user,
            "item": self.item,
            "value": self.value,
            "users": self.users,
            "items": self.items,
            "kind": self.kind,
            "rating_scale": self.rating_scale,
            "timestamp": self.timestamp,
            "name": self.name,
            "item_metadata": self.item_metadata,
            "meta": self.meta,
            "provenance": self.provenance.of_part(),
            "validate": False,
            "user_attributes": self.user_attributes,
            "item_attributes": self.item_attributes,
        }
        state.update(changes)
        return Interactions(state.pop("user"), state.pop("item"), state.pop("value"), **state)

    def with_attributes(
        self, *, users: Attributes | None = None, items: Attributes | None = None
    ) -> Interactions:
        """The same interactions (arrays and provenance shared) with user and/or item
        attributes attached (None keeps the current ones)."""
        out = self._replace(
            provenance=self.provenance,
            user_attributes=self.user_attributes if users is None else users,
            item_attributes=self.item_attributes if items is None else items,
        )
        out._fingerprint = self._fingerprint  # the same arrays
        return out

    # -- basic facts ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.user)

    @property
    def n_users(self) -> int:
        """Size of the user id space (including users with no interactions here)."""
        return len(self.users)

    @property
    def n_items(self) -> int:
        """Size of the item id space (including items with no interactions here)."""
        return len(self.items)

    @property
    def is_explicit(self) -> bool:
        return self.kind == "explicit"

    def __repr__(self) -> str:
        scale = f", scale={self.rating_scale}" if self.rating_scale else ""
        return (
            f"Interactions({self.name!r}, {len(self)} {self.kind} interactions, "
            f"{self.n_users} users x {self.n_items} items{scale})"
        )

    def user_counts(self) -> np.ndarray:
        """Interactions per user index (length ``n_users``)."""
        return np.bincount(self.user, minlength=self.n_users)

    def item_counts(self) -> np.ndarray:
        """Interactions per item index (length ``n_items``)."""
        return np.bincount(self.item, minlength=self.n_items)

    @cached_property
    def _csr(self) -> sp.csr_matrix:
        m = sp.csr_matrix(
            (self.value, (self.user, self.item)),
            shape=(self.n_users, self.n_items),
            dtype=np.float32,
        )
        m.sum_duplicates()
        m.sort_indices()
        return m

    def csr(self) -> sp.csr_matrix:
        """users x items CSR view (cached; do not modify)."""
        return self._csr

    @cached_property
    def _csc(self) -> sp.csc_matrix:
        return self._csr.tocsc()

    def csc(self) -> sp.csc_matrix:
        """users x items CSC view (cached; do not modify)."""
        return self._csc

    def fingerprint(self) -> str:
        """A sha256 over the arrays and id maps: identifies the data in run metadata
        (computed once: the arrays are read-only)."""
        if self._fingerprint is None:
            self._fingerprint = self._compute_fingerprint()
        return self._fingerprint

    def with_provenance(self, **changes: Any) -> Interactions:
        """The same interactions (arrays shared) with `provenance` fields changed."""
        out = self._replace(provenance=replace(self.provenance, **changes))
        out._fingerprint = self._fingerprint  # the same arrays
        return out

    def _compute_fingerprint(self) -> str:
        h = hashlib.sha256()
        for arr in (self.user, self.item, self.value, self.timestamp):
            if arr is not None:  # the arrays' own bytes (contiguous): no copy
                h.update(memoryview(np.ascontiguousarray(arr)).cast("B"))
        for m in (self.users, self.items):
            h.update(str(len(m)).encode())
            h.update("\x1f".join(map(str, m.ids[:1000])).encode())
        h.update(f"{self.kind}{self.rating_scale}".encode())
        return h.hexdigest()[:16]

    # -- derived data -----------------------------------------------------------------------
    def subset(self, rows: np.ndarray, *, name: str | None = None) -> Interactions:
        """The interactions at ``rows`` (bool mask or indices); id maps are kept."""
        rows = np.asarray(rows)
        if rows.dtype == bool and len(rows) != len(self):
            raise DataError(f"{self.name}: subset mask has {len(rows)} rows, expected {len(self)}")
        return self._replace(
            user=self.user[rows],
            item=self.item[rows],
            value=self.value[rows],
            timestamp=None if self.timestamp is None else self.timestamp[rows],
            name=name or self.name,
        )

    def align_to(self, users: IdMap, items: IdMap) -> Interactions:
        """Re-express in another id space (e.g. a model's), appending ids it lacks.

        Appended users/items have indices ``>= len(users)``/``len(items)``: cold to a model
        fitted on that space.
        """
        new_users = users.extend(self.users.ids)
        new_items = items.extend(self.items.ids)
        u = new_users.index_of(self.users.ids)[self.user]
        i = new_items.index_of(self.items.ids)[self.item]
        return self._replace(user=u, item=i, users=new_users, items=new_items)

    def to_pandas(self, *, external_ids: bool = True) -> pd.DataFrame:
        """One row per interaction: user, item, value (and timestamp)."""
        cols: dict[str, Any] = {
            "user": self.users.id_of(self.user) if external_ids else self.user,
            "item": self.items.id_of(self.item) if external_ids else self.item,
            "value": self.value,
        }
        if self.timestamp is not None:
            cols["timestamp"] = self.timestamp
        return pd.DataFrame(cols)

    def item_titles(self, item_indices: np.ndarray) -> list[str | None]:
        """Titles of items where the dataset has them (``item_metadata['title']``)."""
        ids = self.items.id_of(item_indices)
        meta = self.item_metadata
        if meta is None or "title" not in meta.columns:
            return [None] * len(ids)
        titles = meta["title"]
        return [titles.get(i) if i in titles.index else None for i in ids]


#: From this many rows on, a compiled check without sorting looks for repeated pairs first.
_FAST_CHECK_ROWS = 1_000_000


def _any_duplicate_pair(u: np.ndarray, i: np.ndarray, n_items: int) -> bool:
    """Whether a (user, item) pair repeats (a compiled O(n) check; numba loads lazily),
    holding 2 bytes a row: the codes of the side with at most 2^16 distinct values bucketed
    by the other side in one pass, or, when neither side is that small, 4-byte codes in two
    passes over half the users each."""
    from workbench._data_kernels import SMALL_ITEMS, has_duplicate_pair

    n_users = int(u.max()) + 1 if len(u) else 0
    n_items = max(n_items, 1)
    if n_items <= SMALL_ITEMS:
        return bool(has_duplicate_pair(u, i, n_users, n_items, 1))
    if n_users <= SMALL_ITEMS:
        return bool(has_duplicate_pair(i, u, n_items, n_users, 1))
    return bool(has_duplicate_pair(u, i, n_users, n_items, 2))


def _merge_duplicates(
    u: np.ndarray,
    i: np.ndarray,
    v: np.ndarray,
    ts: np.ndarray | None,
    n_items: int,
    policy: str,
    where: str,
    row_offset: int,
    id_at: Callable[[str, int], str],
    user_col: str,
    item_col: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, int, int]:
    """Merge repeated (user, item) rows by ``policy``; also returns the number merged and
    the 0-based row of the first repeat in row order (-1: none)."""
    if policy not in DUPLICATE_POLICIES:
        raise DataError(
            f"{where}: duplicates policy {policy!r} is not one of {', '.join(DUPLICATE_POLICIES)}"
        )
    if len(u) >= _FAST_CHECK_ROWS and not _any_duplicate_pair(u, i, n_items):
        return u, i, v, ts, 0, -1  # the common case for large files, without sorting
    key = u.astype(np.int64) * n_items + i
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    is_dup = np.zeros(len(key), dtype=bool)  # True where a row repeats the previous key
    np.equal(sorted_key[1:], sorted_key[:-1], out=is_dup[1:])
    n_dup = int(is_dup.sum())
    if n_dup == 0:
        return u, i, v, ts, 0, -1
    # the first repeat in row order (not in key order): the earliest row whose pair appeared
    # before (the sort is stable, so a group's first row is its earliest)
    row = int(order[is_dup].min())
    if policy == "error":
        raise RowError(
            where,
            row,
            f"duplicate rating of {item_col} {id_at(item_col, row)!r} by {user_col} "
            f"{id_at(user_col, row)!r} (choose a duplicates policy: last, first, mean "
            "or sum)",
            row_offset,
        )
    starts = np.flatnonzero(~is_dup)
    group = np.cumsum(~is_dup) - 1
    if policy == "first":
        pick = order[starts]
        keep_v = v[pick]
    elif policy == "last":
        ends = np.append(starts[1:], len(order)) - 1
        pick = order[ends]
        keep_v = v[pick]
    else:
        pick = order[starts]
        sums = np.bincount(group, weights=v[order])
        keep_v = sums if policy == "sum" else sums / np.bincount(group)
    keep_ts = None
    if ts is not None:
        # a merged (mean/sum) interaction happened when its latest row did
        keep_ts = np.maximum.reduceat(ts[order], starts) if policy in ("mean", "sum") else ts[pick]
    pick_sorted = np.argsort(pick, kind="stable")  # keep original row order
    pick = pick[pick_sorted]
    keep_v = np.asarray(keep_v)[pick_sorted]
    keep_ts = None if keep_ts is None else keep_ts[pick_sorted]
    return u[pick], i[pick], keep_v, keep_ts, n_dup, row
