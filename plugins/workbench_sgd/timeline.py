"""The time axis of the time-aware models: units, days, item-bias bins and user drift.

Timestamps are integers in one unit (seconds, milliseconds, microseconds or nanoseconds since
1970, found from their magnitude). Training timestamps must use one unit and lie in the past;
their order does not matter. Time is measured in days since the first training rating.

Extrapolation (documented in docs/models.md): a date after the training period falls in the
last item-bias bin (before it: the first); the user drift ``alpha_u dev_u(t)`` is evaluated at
the date itself; a day-specific user bias exists only for (user, day) pairs seen in training.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from workbench.errors import DataError

#: (upper magnitude bound, units per second, name): Unix times up to year ~5000 per unit.
UNITS: tuple[tuple[float, float, str], ...] = (
    (1e11, 1.0, "seconds"),
    (1e14, 1e3, "milliseconds"),
    (1e17, 1e6, "microseconds"),
    (np.inf, 1e9, "nanoseconds"),
)
SECONDS_PER_DAY = 86400.0


def unit_classes(ts: np.ndarray) -> np.ndarray:
    """Index into `UNITS` of each timestamp, by magnitude."""
    mag = np.abs(ts.astype(np.float64))
    return np.searchsorted(np.array([u[0] for u in UNITS[:-1]]), mag, side="right")


def detect_unit(ts: np.ndarray, where: str) -> int:
    """The one unit of ``ts`` (index into `UNITS`); mixed units are a one-line error."""
    classes = unit_classes(ts)
    found = np.unique(classes)
    if len(found) > 1:
        a, b = int(found[0]), int(found[-1])
        ra = int(np.flatnonzero(classes == a)[0])
        rb = int(np.flatnonzero(classes == b)[0])
        raise DataError(
            f"{where}: timestamps mix units: row {ra} ({ts[ra]}) looks like {UNITS[a][2]}, "
            f"row {rb} ({ts[rb]}) like {UNITS[b][2]}; give every timestamp in one unit"
        )
    return int(found[0]) if len(found) else 0


@dataclass(frozen=True)
class Timeline:
    """What the model learned about the training period (saved with the model)."""

    unit: int  # index into UNITS
    origin: float  # first training timestamp, in seconds
    span: float  # days from the first to the last training timestamp
    n_bins: int
    beta: float
    dev_scale: float  # mean |raw drift| of the training ratings (drift terms are O(1))

    @classmethod
    def fit(
        cls, ts: np.ndarray, n_bins: int, beta: float, where: str, now: float | None = None
    ) -> Timeline:
        unit = detect_unit(ts, where)
        seconds = ts.astype(np.float64) / UNITS[unit][1]
        limit = (time.time() if now is None else now) + SECONDS_PER_DAY
        future = seconds > limit
        if future.any():
            r = int(np.flatnonzero(future)[0])
            when = np.datetime64(int(seconds[r]), "s")
            raise DataError(
                f"{where}: the timestamp of row {r} ({ts[r]}, read as {UNITS[unit][2]}: "
                f"{when} UTC) is in the future; check the data and its unit"
            )
        origin = float(seconds.min())
        span = float((seconds.max() - origin) / SECONDS_PER_DAY)
        return cls(unit, origin, span, n_bins, beta, 1.0)

    def with_dev_scale(self, scale: float) -> Timeline:
        return Timeline(self.unit, self.origin, self.span, self.n_bins, self.beta, scale)

    def days(self, ts: np.ndarray, where: str = "predict") -> np.ndarray:
        """Days since the training origin (float64); other units than training's are an
        error."""
        ts = np.asarray(ts)
        if ts.dtype.kind not in "iu":
            if ts.dtype.kind == "f" and np.all(np.isfinite(ts)) and np.all(ts == np.round(ts)):
                ts = ts.astype(np.int64)
            else:
                raise DataError(f"{where}: timestamps must be integers, got {ts.dtype}")
        if len(ts):
            unit = detect_unit(ts, where)
            if unit != self.unit:
                raise DataError(
                    f"{where}: timestamps look like {UNITS[unit][2]}, but the model was trained "
                    f"on {UNITS[self.unit][2]}"
                )
        return (ts.astype(np.float64) / UNITS[self.unit][1] - self.origin) / SECONDS_PER_DAY

    @property
    def end(self) -> float:
        """The last training day (the date of predictions made without a timestamp)."""
        return self.span

    def bins(self, days: np.ndarray) -> np.ndarray:
        """Item-bias bin of each day: equal-width bins over the training period; earlier
        dates fall in the first bin and later ones in the last (extrapolation)."""
        width = max(self.span, 1.0) / self.n_bins
        return np.clip(np.floor(days / width), 0, self.n_bins - 1).astype(np.int32)

    def raw_dev(self, days: np.ndarray, mean_day: np.ndarray) -> np.ndarray:
        d = days - mean_day
        return np.sign(d) * np.abs(d) ** self.beta

    def dev(self, days: np.ndarray, mean_day: np.ndarray) -> np.ndarray:
        """``dev_u(t) = sign(t - t_u) |t - t_u|^beta`` over the training mean scale (float32)."""
        return (self.raw_dev(days, mean_day) / self.dev_scale).astype(np.float32)

    def as_array(self) -> np.ndarray:
        return np.array(
            [self.unit, self.origin, self.span, self.n_bins, self.beta, self.dev_scale],
            dtype=np.float64,
        )

    @classmethod
    def from_array(cls, a: np.ndarray) -> Timeline:
        return cls(int(a[0]), float(a[1]), float(a[2]), int(a[3]), float(a[4]), float(a[5]))


def day_keys(users: np.ndarray, days: np.ndarray) -> np.ndarray:
    """int64 keys of (user, whole day) pairs (days before the origin get no key: -1)."""
    day = np.floor(days).astype(np.int64)
    return np.where(day >= 0, users.astype(np.int64) << 32 | day, -1)


def lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Position of each key in ``sorted_keys``, -1 where absent (int32)."""
    if len(sorted_keys) == 0:
        return np.full(len(keys), -1, dtype=np.int32)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    found = (sorted_keys[pos] == keys) & (keys >= 0)
    return np.where(found, pos, -1).astype(np.int32)
