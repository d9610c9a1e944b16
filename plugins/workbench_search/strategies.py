"""Grid and random search: every candidate is known up front (`SearchStrategy.sequential`
False), so the loop runs all (candidate, fold) tasks at once and a resumed search reruns only
the missing ones. The candidates come from `workbench.search.space.candidates`."""

from __future__ import annotations

from typing import Any

from workbench.search.space import candidates
from workbench.strategy import Candidate, SearchStrategy


class _UpFront(SearchStrategy):
    search: str = ""

    def start(self, space: Any, **options: Any) -> None:
        super().start(space, **options)
        drawn = candidates(self.space_, search=self.search, n_iter=self.n_iter_, seed=self.seed_)
        self._all = [Candidate(i, params) for i, params in enumerate(drawn)]
        self._asked = False

    @property
    def budget(self) -> int:
        return len(self._all)

    def ask(self, n: int) -> list[Candidate]:
        if self._asked:
            return []
        self._asked = True
        return list(self._all)


class Grid(_UpFront):
    """Every combination of the dimensions (a range contributes evenly spaced points)."""

    name = "grid"
    search = "grid"
    draws = False


class Random(_UpFront):
    """n_iter distinct combinations drawn uniformly (log-uniformly for log ranges) from the seed."""

    name = "random"
    search = "random"
