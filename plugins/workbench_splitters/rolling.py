"""Rolling-origin temporal cross-validation: several cut dates, each fold training on
everything before its cut and testing on what follows (until the next cut)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from workbench.data import Interactions
from workbench.errors import DataError, ParamError
from workbench.params import Params
from workbench.splits import Split, Splitter
from workbench_splitters.base import make_split, need_timestamps
from workbench_splitters.temporal import parse_moment

#: folds (cut dates) at most: each fold copies the data once
MAX_FOLDS = 100


class RollingParams(Params):
    n_folds: int = Field(3, ge=1, le=MAX_FOLDS, description="number of cut dates (folds)")
    start: float = Field(
        0.6, gt=0.0, lt=1.0, description="share of interactions (the earliest) before the first cut"
    )
    cuts: list[int | str] | None = Field(
        None,
        description="instead of n_folds/start: the cut dates (Unix seconds or dates like "
        "2018-01-01), increasing",
    )
    window: Literal["next", "rest"] = Field(
        "next",
        description="test of a fold: next = from its cut to the next cut (the last fold: to "
        "the end); rest = everything from its cut on",
    )


class RollingOrigin(Splitter):
    """Rolling-origin temporal CV: fold f trains on every interaction before cut f and tests
    on those at or after it (until cut f+1 with ``window=next``). Cuts default to the
    interaction quantiles ``start + f (1 - start) / n_folds``."""

    name: ClassVar[str] = "rolling"
    Params: ClassVar[type[Params]] = RollingParams

    def cut_points(self, data: Interactions) -> list[int]:
        ts = need_timestamps(data, self.owner())
        if self.params.cuts is not None:
            if not self.params.cuts:
                raise ParamError(f"{self.owner()}: cuts is empty; give at least one cut date")
            if len(self.params.cuts) > MAX_FOLDS:
                raise ParamError(
                    f"{self.owner()}: {len(self.params.cuts)} cuts; at most {MAX_FOLDS}"
                )
            cuts = [parse_moment(c) for c in self.params.cuts]
            if any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
                raise ParamError(f"{self.owner()}: cuts {self.params.cuts} must increase")
            return cuts
        ordered = np.sort(ts)
        n, k, start = len(ordered), self.params.n_folds, self.params.start
        positions = [min(n - 1, int((start + f * (1.0 - start) / k) * n)) for f in range(k)]
        cuts = [int(ordered[p]) for p in positions]
        if len(set(cuts)) < len(cuts):
            raise DataError(
                f"{self.owner()}: dataset '{data.name}' has too few distinct timestamps for "
                f"{k} cuts from quantile {start:g} (cuts {cuts}); use fewer folds or cuts=[...]"
            )
        return cuts

    def split(self, data: Interactions) -> Iterator[Split]:
        cuts = self.cut_points(data)
        ts = data.timestamp
        assert ts is not None
        for fold, cut in enumerate(cuts):
            end = cuts[fold + 1] if self.params.window == "next" and fold + 1 < len(cuts) else None
            test = ts >= cut if end is None else (ts >= cut) & (ts < end)
            split = make_split(
                data, test, fold=fold, n_folds=len(cuts), train=ts < cut, what=self.name
            )
            split.test.meta["cut"] = cut
            if end is not None:
                split.test.meta["until"] = end
            yield split

    def n_splits(self, data: Interactions | None = None) -> int:
        return len(self.params.cuts) if self.params.cuts is not None else self.params.n_folds
