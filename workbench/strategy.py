"""The search strategy contract: what proposes the candidates of ``workbench tune``.

A strategy only *proposes*: the search loop (`workbench.search.tuning`) builds each proposed
parameter set into a model, runs it fold by fold through the same task machinery and backend
as ``compare``, writes every (candidate, fold) to the run folder, and tells the strategy how
the candidate did. A strategy never trains, evaluates or writes results itself.

The protocol, called by the loop in this order::

    strategy.start(space, seed=..., n_iter=..., higher_is_better=..., folder=..., resume=...)
    while batch := strategy.ask(n):            # up to n new candidates; [] when done
        for fold ...: strategy.prune(candidate, fold, mean, last=...)   # if `prunes`
        strategy.tell(candidate, mean, "complete" | "pruned" | "failed")
    strategy.close()

Strategies register with the ``register_strategies`` hook (docs/hooks.md); grid and random
come from the built-in ``workbench_search`` plugin, TPE from ``workbench_optuna``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from workbench.component import Component

COMPLETE, PRUNED, FAILED = "complete", "pruned", "failed"


@dataclass
class Candidate:
    """One proposed parameter set: ``number`` (0-based, unique within the search, it names
    the candidate ``MODEL#number+1``), the searched ``params``, and ``token``, the strategy's
    own handle (an Optuna trial), never looked at by the loop."""

    number: int
    params: dict[str, Any]
    token: Any = field(default=None, repr=False)


class SearchStrategy(Component):
    """Proposes candidate parameter sets for a search (ask/tell); see the module docstring."""

    kind: ClassVar[str] = "strategy"
    #: True: candidates are proposed a few at a time, after the results of earlier ones (the
    #: run folder then lists the candidates as they come); False: ``ask`` returns every
    #: candidate at once (grid, random) and the metadata lists them up front.
    sequential: ClassVar[bool] = False
    #: Whether the strategy draws ``n_iter`` candidates (False: its space decides, as grid's).
    draws: ClassVar[bool] = True
    #: Whether `prune` may stop a candidate between folds (the loop then runs fold by fold).
    prunes: ClassVar[bool] = False

    @classmethod
    def check_available(cls) -> None:
        """Raise `workbench.errors.MissingDependency` (with its install hint) when an
        optional package the strategy needs is missing; the default needs nothing."""

    def start(
        self,
        space: Sequence[Any],
        *,
        seed: int,
        n_iter: int,
        higher_is_better: bool,
        folder: Path | None = None,
        resume: bool = False,
    ) -> None:
        """Begin (or, with ``resume``, continue) a search over ``space`` (a list of
        `workbench.search.space.Dimension`); ``n_iter``: the candidate budget of strategies
        that draw; ``folder``: the run folder, where a strategy may keep its own state."""
        self.space_ = list(space)
        self.seed_ = int(seed)
        self.n_iter_ = int(n_iter)
        self.higher_is_better_ = bool(higher_is_better)

    @property
    def budget(self) -> int:
        """How many candidates the whole search proposes (labels are padded to its width)."""
        return self.n_iter_

    def finished(self) -> int:
        """Candidates already told (more than 0 only for a resumed sequential search)."""
        return 0

    def ask(self, n: int) -> list[Candidate]:
        """Up to ``n`` new candidates (a non-sequential strategy returns all of them, then
        ``[]``); ``[]`` when the search is over."""
        raise NotImplementedError

    def prune(self, candidate: Candidate, fold: int, value: float, *, last: bool) -> bool:
        """``value``: the candidate's running mean after ``fold`` (called after every fold;
        ``last``: no fold follows, the answer is then ignored); True stops it there."""
        return False

    def tell(self, candidate: Candidate, value: float | None, state: str) -> None:
        """The outcome: the mean over the folds it ran (None when it failed) and its state,
        `COMPLETE`, `PRUNED` or `FAILED`."""

    def close(self) -> None:
        """The search ended (also after an interruption or an error)."""
