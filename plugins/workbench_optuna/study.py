"""The ``tpe`` search strategy (`workbench.strategy.SearchStrategy`): an Optuna study, pruned
fold by fold.

Optuna (optional: ``pip install 'recsys-workbench[optuna]'``) proposes each candidate with its
TPE sampler, seeded from the run seed, from the same search space as grid and random search
(`workbench.search.space`: a list becomes a categorical choice, a range ``suggest_float`` /
``suggest_int``, log scale kept). Every candidate runs fold by fold; after each fold its
running mean is reported to a median pruner, which stops candidates that are worse than the
median of earlier ones at the same fold (the first ``n_startup`` candidates always finish).

With a run folder the study lives in ``optuna.journal`` beside ``results.jsonl`` (Optuna's
journal file storage): ``resume`` reloads it, continues the search where it stopped and
runs new candidates in place of those an interruption cut short. The search loop
(`workbench.search.tuning`) asks for ``--jobs`` candidates at a time and runs them side by
side, one fold at a time, so pruning still applies. Each finished (model, fold) is a record
like any comparison's, so the ranking table, ``best.json``, reports and the
``on_run_finished`` hook are the same as for grid search.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.errors import MissingDependency, ParamError
from workbench.strategy import COMPLETE, PRUNED, Candidate, SearchStrategy

HINT = "pip install 'recsys-workbench[optuna]'"
JOURNAL = "optuna.journal"
STUDY = "tune"
#: Candidates that always run every fold before the pruner compares against them.
N_STARTUP = 3


def require_optuna() -> Any:
    """The ``optuna`` module, or `MissingDependency` with the install hint."""
    try:
        import optuna
    except ImportError:
        raise MissingDependency("optuna", HINT) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def suggest(trial: Any, dim: Any) -> Any:
    """One value of dimension ``dim`` (`workbench.search.space.Dimension`) from a trial."""
    if not dim.is_range:
        values = list(dim.values or ())
        if not all(v is None or isinstance(v, bool | int | float | str) for v in values):
            values = [str(v) for v in values]
        return trial.suggest_categorical(dim.name, values)
    if dim.integer:
        return trial.suggest_int(dim.name, int(round(dim.low)), int(round(dim.high)), log=dim.log)
    return trial.suggest_float(dim.name, float(dim.low), float(dim.high), log=dim.log)


class TPE(SearchStrategy):
    """Optuna's TPE sampler: n_iter candidates, bad ones pruned fold by fold (needs optuna).

    Candidates are proposed ``--jobs`` at a time, after the results of the earlier ones; a
    median pruner stops those worse than the median of earlier ones at the same fold."""

    name = "tpe"
    sequential = True
    prunes = True

    @classmethod
    def check_available(cls) -> None:
        require_optuna()

    def start(self, space: Any, **options: Any) -> None:
        super().start(space, **options)
        optuna = require_optuna()
        if self.n_iter_ < 1:
            raise ParamError(f"tpe search: n_iter must be >= 1, got {self.n_iter_}")
        folder: Path | None = options.get("folder")
        storage = None
        if folder is not None:
            from optuna.storages.journal import JournalFileBackend, JournalStorage

            storage = JournalStorage(JournalFileBackend(str(Path(folder) / JOURNAL)))
        self._optuna = optuna
        self._study = optuna.create_study(
            storage=storage,
            study_name=STUDY,
            load_if_exists=True,
            direction="maximize" if self.higher_is_better_ else "minimize",
            sampler=optuna.samplers.TPESampler(seed=self.seed_),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=N_STARTUP, n_warmup_steps=0),
        )
        # trials cut short by an interruption cannot continue: close them as failed
        running = (optuna.trial.TrialState.RUNNING,)
        for old in self._study.get_trials(deepcopy=False, states=running):
            self._study.tell(old.number, state=optuna.trial.TrialState.FAIL)

    def finished(self) -> int:
        states = (self._optuna.trial.TrialState.COMPLETE, self._optuna.trial.TrialState.PRUNED)
        return len(self._study.get_trials(deepcopy=False, states=states))

    def ask(self, n: int) -> list[Candidate]:
        out = []
        for _ in range(min(n, self.n_iter_ - self.finished())):
            trial = self._study.ask()
            params = {d.name: suggest(trial, d) for d in self.space_}
            out.append(Candidate(trial.number, params, trial))
        return out

    def prune(self, candidate: Candidate, fold: int, value: float, *, last: bool) -> bool:
        candidate.token.report(value, fold)
        return not last and bool(candidate.token.should_prune())

    def tell(self, candidate: Candidate, value: float | None, state: str) -> None:
        states = self._optuna.trial.TrialState
        if state == COMPLETE:
            self._study.tell(candidate.token, value)
        else:
            failed = states.PRUNED if state == PRUNED else states.FAIL
            self._study.tell(candidate.token, state=failed)
