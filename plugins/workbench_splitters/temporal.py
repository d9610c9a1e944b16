"""A global temporal cut: train on everything before a moment, test on what follows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import pandas as pd
from pydantic import Field

from workbench.data import Interactions
from workbench.errors import ParamError
from workbench.params import Params
from workbench.splits import Split, Splitter
from workbench_splitters.base import make_split, need_timestamps


def parse_moment(value: int | str) -> int:
    """Unix seconds from an int or an ISO date/date-time string."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise ParamError(
            f"splitter 'temporal': cut {value!r} is neither Unix seconds nor a date like 2018-01-01"
        ) from None
    if moment.tzinfo is None:
        moment = moment.tz_localize("UTC")
    return int(moment.timestamp())


class TemporalParams(Params):
    quantile: float = Field(
        0.8, gt=0.0, lt=1.0, description="share of interactions (the earliest) in train"
    )
    cut: int | str | None = Field(
        None, description="instead of quantile: Unix seconds or a date; test = at or after it"
    )


class Temporal(Splitter):
    """Global temporal split: interactions before the cut train, the rest test."""

    name: ClassVar[str] = "temporal"
    Params: ClassVar[type[Params]] = TemporalParams

    def cut_point(self, data: Interactions) -> int:
        ts = need_timestamps(data, self.owner())
        if self.params.cut is not None:
            return parse_moment(self.params.cut)
        ordered = np.sort(ts)
        return int(ordered[min(len(ordered) - 1, int(self.params.quantile * len(ordered)))])

    def split(self, data: Interactions) -> Iterator[Split]:
        cut = self.cut_point(data)
        assert data.timestamp is not None
        split = make_split(data, data.timestamp >= cut, what=self.name)
        split.test.meta["cut"] = cut
        yield split

    def n_splits(self, data: Interactions | None = None) -> int:
        return 1
