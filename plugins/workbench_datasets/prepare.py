"""Preparation people redo by hand: time window, rating threshold, k-core, sampled users.

Applied in that order to loaded `Interactions` (repeated pairs are merged before, by the
reader's ``duplicates`` policy). Each step is recorded (what it did, rows/users/items
after it) in the data's provenance (``Provenance.preparation``), so a run's metadata and
report say exactly which data a model saw. Ids that lose all their rows are dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from workbench.data import IdMap, Interactions
from workbench.errors import DataError


@dataclass(frozen=True)
class Preparation:
    """What to do to the data (None / 0: that step is off)."""

    since: int | None = None
    until: int | None = None
    min_rating: float | None = None
    kcore: int = 0
    sample_users: int | None = None
    seed: int = 0

    def is_empty(self) -> bool:
        return (
            self.since is None
            and self.until is None
            and self.min_rating is None
            and self.kcore <= 1
            and self.sample_users is None
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_time(value: str | int | float | None, option: str) -> int | None:
    """Unix seconds from seconds or a date (``2015-01-01``, ISO date-time), or None."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    import pandas as pd

    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise DataError(
            f"{option}={value!r}: expected a date (2015-01-01) or Unix seconds"
        ) from None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.timestamp())


def compact(data: Interactions, keep: np.ndarray, **changes: Any) -> Interactions:
    """The rows where ``keep`` is true, with ids that lost every row dropped from the maps."""
    user, item = data.user[keep], data.item[keep]
    used_u = np.flatnonzero(np.bincount(user, minlength=data.n_users))
    used_i = np.flatnonzero(np.bincount(item, minlength=data.n_items))
    new_u = np.full(data.n_users, -1, dtype=np.int32)
    new_u[used_u] = np.arange(len(used_u), dtype=np.int32)
    new_i = np.full(data.n_items, -1, dtype=np.int32)
    new_i[used_i] = np.arange(len(used_i), dtype=np.int32)
    state: dict[str, Any] = {
        "user": new_u[user],
        "item": new_i[item],
        "value": data.value[keep],
        "timestamp": None if data.timestamp is None else data.timestamp[keep],
        "users": IdMap(data.users.ids[used_u]),
        "items": IdMap(data.items.ids[used_i]),
    }
    state.update(changes)
    out = data._replace(**state)
    out.meta = dict(data.meta)
    return out


def kcore_mask(user: np.ndarray, item: np.ndarray, k: int) -> np.ndarray:
    """Rows kept by the k-core: every user and item with at least ``k`` rows, iterated
    until nothing changes (each pass removes what fell below ``k``)."""
    keep = np.ones(len(user), dtype=bool)
    n_u = int(user.max()) + 1 if len(user) else 0
    n_i = int(item.max()) + 1 if len(item) else 0
    while True:
        u_count = np.bincount(user[keep], minlength=n_u)
        i_count = np.bincount(item[keep], minlength=n_i)
        bad = keep & ((u_count[user] < k) | (i_count[item] < k))
        if not bad.any():
            return keep
        keep &= ~bad


def _counts(data: Interactions) -> dict[str, int]:
    return {"rows": len(data), "users": data.n_users, "items": data.n_items}


def prepare(data: Interactions, prep: Preparation) -> tuple[Interactions, list[dict[str, Any]]]:
    """``data`` after the steps of ``prep``, and one record per step that ran."""
    steps: list[dict[str, Any]] = []
    if prep.since is not None or prep.until is not None:
        if data.timestamp is None:
            raise DataError(f"{data.name}: since=/until= need timestamps, and it has none")
        keep = np.ones(len(data), dtype=bool)
        if prep.since is not None:
            keep &= data.timestamp >= prep.since
        if prep.until is not None:
            keep &= data.timestamp < prep.until
        data = _checked(compact(data, keep), data.name, "since=/until=")
        steps.append({"step": "time window", "since": prep.since, "until": prep.until,
                      **_counts(data)})  # fmt: skip
    if prep.min_rating is not None:
        if data.kind != "explicit":
            raise DataError(f"{data.name}: min_rating= needs ratings, and the data is implicit")
        keep = data.value >= prep.min_rating
        kept = int(keep.sum())
        data = _checked(
            compact(data, keep, value=np.ones(kept, dtype=np.float32), kind="implicit",
                    rating_scale=None),
            data.name, f"min_rating={prep.min_rating:g}",
        )  # fmt: skip
        steps.append({"step": "rating threshold", "min_rating": prep.min_rating, **_counts(data)})
    if prep.kcore > 1:
        keep = kcore_mask(data.user, data.item, prep.kcore)
        data = _checked(compact(data, keep), data.name, f"kcore={prep.kcore}")
        steps.append({"step": "k-core", "k": prep.kcore, **_counts(data)})
    if prep.sample_users is not None and prep.sample_users < data.n_users:
        rng = np.random.default_rng(prep.seed)
        chosen = np.zeros(data.n_users, dtype=bool)
        chosen[rng.choice(data.n_users, size=prep.sample_users, replace=False)] = True
        data = compact(data, chosen[data.user])
        steps.append({"step": "sample users", "n": prep.sample_users, "seed": prep.seed,
                      **_counts(data)})  # fmt: skip
    return data, steps


def _checked(data: Interactions, name: str, what: str) -> Interactions:
    if len(data) == 0:
        raise DataError(f"{name}: no interactions are left after {what}")
    return data
