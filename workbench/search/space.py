"""Parameter search spaces for `workbench tune`: parsing, grids and random samples.

One dimension per parameter, written on the command line as ``NAME=VALUES`` (repeat the
option for more parameters) or in TOML under ``[space]``:

==========================  ==============================================================
``n_factors=50,100,200``    these values (any type the model's parameter accepts)
``lr=0.002:0.02``           a range, uniform between the bounds
``lr=0.002:0.02:log``       a range, log-uniform (bounds must be > 0)
``lr=0.002:0.02:log:4``     the same, 4 grid points (default 3 points per range in a grid)
``n_factors=10:200:int``    integer range (also when both bounds are written as integers,
                            unless the model declares the parameter a float)
==========================  ==============================================================

Grid search takes every combination (a range contributes evenly spaced points, geometric
for ``log``); random search draws ``n_iter`` combinations (a list: one value uniformly; a
range: uniform or log-uniform, rounded for integers), reproducibly from the seed; ``tpe``
(Optuna, `workbench_optuna.study`) proposes ``n_iter`` candidates one after another from the
same dimensions (a list: a categorical choice; a range: ``suggest_float``/``suggest_int``,
log scale kept; grid points ignored). In TOML a
dimension is a list (``n_factors = [50, 100]``), a range string (``lr = "0.002:0.02:log"``)
or a table (``lr = {low = 0.002, high = 0.02, log = true, points = 4}``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from workbench.errors import ParamError

DEFAULT_GRID_POINTS = 3
@dataclass(frozen=True)
class Dimension:
    """One parameter's values: a list, or a (log-)uniform range."""

    name: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    points: int | None = None
    #: integer only because both bounds were written as integers (no ``:int``)
    integer_from_bounds: bool = False

    @property
    def is_range(self) -> bool:
        return self.values is None

    def grid(self) -> list[Any]:
        if not self.is_range:
            return list(self.values or ())
        n = self.points or DEFAULT_GRID_POINTS
        lo, hi = float(self.low), float(self.high)  # type: ignore[arg-type]
        pts = np.geomspace(lo, hi, n) if self.log else np.linspace(lo, hi, n)
        return self._finish(pts)

    def sample(self, rng: np.random.Generator) -> Any:
        if not self.is_range:
            values = self.values or ()
            return values[int(rng.integers(len(values)))]
        lo, hi = float(self.low), float(self.high)  # type: ignore[arg-type]
        x = math.exp(rng.uniform(math.log(lo), math.log(hi))) if self.log else rng.uniform(lo, hi)
        return self._finish(np.array([x]))[0]

    def _finish(self, pts: np.ndarray) -> list[Any]:
        if self.integer:
            return list(dict.fromkeys(int(round(p)) for p in pts))
        return [float(f"{p:.6g}") for p in pts]

    def as_dict(self) -> dict[str, Any]:
        if not self.is_range:
            return {"values": list(self.values or ())}
        return {
            "low": self.low,
            "high": self.high,
            "log": self.log,
            "int": self.integer,
            "points": self.points,
        }


def _number(text: str, name: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ParamError(
            f"{where} '{name}': {text!r} is not a number (expected LOW:HIGH[:log][:int][:N])"
        ) from None


def _is_int_text(text: str) -> bool:
    t = text.strip().lstrip("+-")
    return t.isdigit()


def _range(name: str, low: Any, high: Any, flags: list[str], where: str) -> Dimension:
    lo = _number(str(low), name, where)
    hi = _number(str(high), name, where)
    log = integer = False
    points = None
    for flag in flags:
        f = flag.strip().lower()
        if f == "log":
            log = True
        elif f == "int":
            integer = True
        elif f.isdigit() and int(f) >= 1:
            points = int(f)
        else:
            raise ParamError(
                f"{where} '{name}': unknown range option {flag!r} (expected log, int or a "
                "number of grid points)"
            )
    from_bounds = False
    if isinstance(low, int | str) and isinstance(high, int | str):
        from_bounds = not integer and _is_int_text(str(low)) and _is_int_text(str(high))
        integer = integer or from_bounds
    if not lo < hi:
        raise ParamError(f"{where} '{name}': the range {lo:g}:{hi:g} is empty (need LOW < HIGH)")
    if log and lo <= 0:
        raise ParamError(f"{where} '{name}': a log range needs LOW > 0, got {lo:g}")
    return Dimension(
        name, low=lo, high=hi, log=log, integer=integer, points=points,
        integer_from_bounds=from_bounds,
    )  # fmt: skip


def as_float_range(dim: Dimension) -> Dimension:
    """``dim`` searched as a float range: for a float parameter whose bounds happen to be
    written as integers (``reg_offset=0:8``); an explicit ``:int`` is kept."""
    if not dim.integer_from_bounds:
        return dim
    return replace(dim, integer=False, integer_from_bounds=False)


def parse_dimension(name: str, value: Any, *, where: str = "search space") -> Dimension:
    """One dimension from a CLI string (``a,b,c`` or ``lo:hi[:log][:int][:N]``) or TOML value."""
    if isinstance(value, Mapping):
        unknown = set(value) - {"low", "high", "log", "int", "points", "values"}
        if unknown:
            raise ParamError(f"{where} '{name}': unknown key '{sorted(unknown)[0]}'")
        if "values" in value:
            return parse_dimension(name, list(value["values"]), where=where)
        if "low" not in value or "high" not in value:
            raise ParamError(f"{where} '{name}': a range table needs 'low' and 'high'")
        flags = ["log"] if value.get("log") else []
        flags += ["int"] if value.get("int") else []
        flags += [str(value["points"])] if value.get("points") else []
        return _range(name, value["low"], value["high"], flags, where)
    if isinstance(value, list | tuple):
        if not value:
            raise ParamError(f"{where} '{name}': no values")
        return Dimension(name, values=tuple(value))
    if not isinstance(value, str):
        return Dimension(name, values=(value,))
    text = value.strip()
    if not text:
        raise ParamError(f"{where} '{name}': no values (expected a,b,c or LOW:HIGH[:log])")
    if ":" in text and "," not in text:
        low, high, *flags = text.split(":")
        return _range(name, low, high, flags, where)
    return Dimension(name, values=tuple(v.strip() for v in text.split(",") if v.strip()))


def parse_space(items: Any, *, where: str = "search space") -> list[Dimension]:
    """A space from ``["name=values", ...]`` (CLI) or a mapping ``{name: values}`` (TOML)."""
    dims: list[Dimension] = []
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        pairs = []
        for text in items:
            key, sep, value = str(text).partition("=")
            if not sep or not key.strip():
                raise ParamError(
                    f"{where} {text!r}: expected NAME=VALUES, e.g. n_factors=50,100 or "
                    "lr=0.002:0.02:log"
                )
            pairs.append((key.strip(), value))
    seen = set()
    for name, value in pairs:
        if name in seen:
            raise ParamError(f"{where}: parameter '{name}' is given twice")
        seen.add(name)
        dims.append(parse_dimension(name, value, where=where))
    if not dims:
        raise ParamError(f"{where} is empty: give at least one NAME=VALUES")
    return dims


def candidates(
    space: list[Dimension], *, search: str = "grid", n_iter: int = 10, seed: int = 0
) -> list[dict[str, Any]]:
    """The parameter sets to try, in a fixed order (random search: reproducible from seed)."""
    if search == "grid":
        grids = [d.grid() for d in space]
        return [
            dict(zip([d.name for d in space], combo, strict=True))
            for combo in itertools.product(*grids)
        ]
    if search == "random":
        if n_iter < 1:
            raise ParamError(f"random search: n_iter must be >= 1, got {n_iter}")
        rng = np.random.default_rng(seed)
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        attempts = 0
        while len(out) < n_iter and attempts < n_iter * 20:
            attempts += 1
            cand = {d.name: d.sample(rng) for d in space}
            key = repr(sorted(cand.items()))
            if key in seen:
                continue  # a finite space may hold fewer than n_iter distinct combinations
            seen.add(key)
            out.append(cand)
        return out
    raise ParamError(f"unknown search {search!r}: expected 'grid', 'random' or 'tpe'")
