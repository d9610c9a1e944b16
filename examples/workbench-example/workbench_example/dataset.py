"""``boardgames``: a small ratings file shipped inside the package (package data)."""

from __future__ import annotations

from importlib import resources

import pandas as pd
from pydantic import Field

from workbench import Dataset, Interactions, Params


class BoardGames(Dataset):
    """A made-up board-game club: 60 members rate 40 games from 1 to 5 stars (1,049 ratings).

    Item metadata has each game's title and genres. With ``implicit=true`` the ratings at or
    above ``threshold`` become implicit interactions (weight 1) and the rest are dropped.
    """

    name = "boardgames"

    class Params(Params):
        implicit: bool = Field(False, description="keep ratings >= threshold as implicit data")
        threshold: float = Field(
            4.0, ge=1, le=5, description="lowest rating kept when implicit=true"
        )

    def load(self) -> Interactions:
        folder = resources.files("workbench_example") / "data"
        with (folder / "ratings.csv").open("rb") as fh:
            ratings = pd.read_csv(fh)
        with (folder / "items.csv").open("rb") as fh:
            items = pd.read_csv(fh).set_index("item")
        source = "workbench_example/data/ratings.csv"
        if self.params.implicit:
            ratings = ratings[ratings["rating"] >= self.params.threshold]
            return Interactions.from_pandas(
                ratings,
                value=None,
                timestamp="timestamp",
                kind="implicit",
                name=self.name,
                source=source,
                item_metadata=items,
                row_offset=2,
            )
        return Interactions.from_pandas(
            ratings,
            timestamp="timestamp",
            rating_scale=(1, 5),
            duplicates="error",
            name=self.name,
            source=source,
            item_metadata=items,
            row_offset=2,
        )
