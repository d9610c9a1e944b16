"""The one loop of ``compare`` and ``tune``: candidates in, (candidate, fold) records out.

A *proposer* hands the loop model entries in batches: `Given` (a comparison's models, all at
once) or a search strategy wrapped by `workbench.search.tuning`. Each batch runs through the
same task machinery (`workbench.experiments.runner`) on the chosen backend, every finished
record goes to the run folder, the ``on_run_finished`` hook and the progress at once, and the
proposer is told how each candidate did. A proposer that prunes runs fold by fold (each fold
of the batch side by side), so it can stop candidates between folds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from workbench.backend import Backend
from workbench.experiments.resolve import ModelEntry, derive_seed
from workbench.experiments.runfolder import RunFolder
from workbench.experiments.runner import PER_USER_KEY, Progress, Task, fire_hook, run_parallel
from workbench.metric import Metric
from workbench.splits import Split
from workbench.strategy import COMPLETE, FAILED, PRUNED


class Proposer(Protocol):
    """What the loop asks for candidates (see `workbench.strategy.SearchStrategy`)."""

    sequential: bool
    prunes: bool

    def begin(self, folder: Path | None) -> None: ...
    @property
    def budget(self) -> int: ...
    def finished(self) -> int: ...
    def ask(self, n: int) -> list[ModelEntry]: ...
    def prune(self, entry: ModelEntry, fold: int, value: float, *, last: bool) -> bool: ...
    def tell(self, entry: ModelEntry, value: float | None, state: str) -> None: ...
    def close(self) -> None: ...


class Given:
    """A comparison's models: every entry at once, nothing to tell."""

    sequential = False
    prunes = False

    def __init__(self, entries: Sequence[ModelEntry]):
        self.entries = list(entries)
        self._asked = False

    def begin(self, folder: Path | None) -> None:
        return None

    @property
    def budget(self) -> int:
        return len(self.entries)

    def finished(self) -> int:
        return 0

    def ask(self, n: int) -> list[ModelEntry]:
        if self._asked:
            return []
        self._asked = True
        return list(self.entries)

    def prune(self, entry: ModelEntry, fold: int, value: float, *, last: bool) -> bool:
        return False

    def tell(self, entry: ModelEntry, value: float | None, state: str) -> None:
        return None

    def close(self) -> None:
        return None


class Loop:
    """One run: the resolved splits, metrics and protocol, and where the tasks go."""

    def __init__(
        self,
        splits: list[Split],
        metrics: list[Metric],
        protocol: Any,
        *,
        seed: int,
        jobs: int,
        backend: Backend,
        progress: Progress | None = None,
        validation: bool = False,
        per_user: bool = False,
    ):
        self.splits, self.metrics, self.protocol = splits, metrics, protocol
        self.seed, self.jobs, self.backend, self.progress = seed, jobs, backend, progress
        self.validation, self.per_user = validation, per_user
        self.frames: dict[tuple[str, int], pd.DataFrame] = {}
        #: records of (label, fold) that finished before a resume
        self.prior: dict[tuple[str, int], dict[str, Any]] = {}

    def run(
        self, proposer: Proposer, meta: dict[str, Any], folder: RunFolder | None
    ) -> list[dict[str, Any]]:
        """Run every candidate the proposer gives; returns the fresh records (the run
        folder, when there is one, holds them all). Unlocks ``folder`` at the end."""
        fresh: list[dict[str, Any]] = []
        progress = self.progress
        n_folds = len(self.splits)
        try:
            proposer.begin(folder.path if folder is not None else None)
            done = folder.finished() if folder is not None else set()
            if proposer.sequential and folder is not None and done:
                # a resumed search: what finished before tells the strategy too
                self.prior = {(r["model"], int(r["fold"])): r for r in folder.records()}
            batch = self.jobs if self.jobs > 0 else _cpu_count()
            first = True
            while entries := proposer.ask(batch):
                if first and progress is not None:
                    total = proposer.budget * n_folds
                    if proposer.sequential:
                        progress.start(total, min(total, proposer.finished() * n_folds))
                    else:
                        missing = sum(
                            (e.label, f) not in done for f in range(n_folds) for e in entries
                        )
                        progress.start(total, total - missing)
                first = False
                if proposer.sequential:
                    known = {m.get("label") for m in meta["models"]}
                    new = [e.spec() for e in entries if e.label not in known]
                    meta["models"] = [*meta["models"], *new]
                    if folder is not None:
                        folder.write_metadata({k: v for k, v in meta.items() if k != "run_dir"})
                if proposer.prunes:
                    self._fold_by_fold(proposer, entries, folder, done, fresh, meta)
                else:
                    records = self._execute(self._tasks(entries, done), folder)
                    fresh.extend(records)
                    if proposer.sequential:
                        self._tell_all(proposer, entries, records)
            if first and progress is not None:  # nothing left to propose
                total = proposer.budget * n_folds
                progress.start(total, total)
        finally:
            try:
                if progress is not None:
                    progress.close()
                proposer.close()
            finally:
                if folder is not None:
                    folder.unlock()
        return fresh

    # -- tasks ------------------------------------------------------------------------------
    def _task(self, entry: ModelEntry, fold: int, split: Split) -> Task:
        fixed = entry.seed_fixed or "seed" not in type(entry.model).Params.model_fields
        return Task(
            label=entry.label,
            fold=fold,
            model=entry.model,
            seed=None if fixed else derive_seed(self.seed, fold),
            split=split,
            metrics=self.metrics,
            protocol=self.protocol,
            validation=self.validation,
            per_user=self.per_user,
        )

    def _tasks(self, entries: Sequence[ModelEntry], done: set) -> list[Task]:
        return [
            self._task(entry, fold, split)
            for fold, split in enumerate(self.splits)
            for entry in entries
            if (entry.label, fold) not in done
        ]

    def _execute(self, tasks: list[Task], folder: RunFolder | None) -> list[dict[str, Any]]:
        """Run the tasks; each finished record goes to disk, the hook and the progress at once."""
        fresh: list[dict[str, Any]] = []
        progress = self.progress

        def finish(record: dict[str, Any]) -> None:
            frame = record.pop(PER_USER_KEY, None)
            if frame is not None:
                self.frames[(record["model"], int(record["fold"]))] = frame
                if folder is not None:
                    record["per_user_file"] = folder.write_per_user(
                        record["model"], record["fold"], frame
                    )
            if folder is not None:
                folder.append(record)
            fresh.append(record)
            fire_hook(record, folder)
            if progress is not None:
                progress.task_finished(record)

        run_parallel(tasks, self.jobs, progress, finish, self.backend)
        return fresh

    # -- telling the proposer -----------------------------------------------------------------
    def _score(self, record: dict[str, Any] | None) -> float | None:
        main = self.metrics[0].label
        if record is None or record.get("error") or main not in (record.get("scores") or {}):
            return None
        return float(record["scores"][main])

    def _tell_all(
        self, proposer: Proposer, entries: Sequence[ModelEntry], records: list[dict[str, Any]]
    ) -> None:
        for entry in entries:
            before = [self.prior.get((entry.label, f)) for f in range(len(self.splits))]
            mine = [r for r in records if r["model"] == entry.label] + [r for r in before if r]
            scores = [self._score(r) for r in mine]
            if not scores or any(s is None for s in scores):
                proposer.tell(entry, None, FAILED)
            else:
                proposer.tell(entry, sum(scores) / len(scores), COMPLETE)  # type: ignore[arg-type]

    def _fold_by_fold(
        self,
        proposer: Proposer,
        entries: list[ModelEntry],
        folder: RunFolder | None,
        done: set,
        fresh: list[dict[str, Any]],
        meta: dict[str, Any] | None = None,
    ) -> None:
        alive = dict(enumerate(entries))
        means: dict[int, list[float]] = {i: [] for i in alive}
        for fold, split in enumerate(self.splits):
            tasks = [
                self._task(alive[i], fold, split)
                for i in alive
                if (alive[i].label, fold) not in done
            ]
            records = self._execute(tasks, folder)
            fresh.extend(records)
            by_label = {r["model"]: r for r in records}
            for i in list(alive):
                label = entries[i].label
                value = self._score(by_label.get(label) or self.prior.get((label, fold)))
                if value is None:
                    proposer.tell(alive.pop(i), None, FAILED)
                    continue
                means[i].append(value)
                mean = sum(means[i]) / len(means[i])
                last = fold + 1 == len(self.splits)
                if proposer.prune(entries[i], fold, mean, last=last) and not last:
                    proposer.tell(alive.pop(i), mean, PRUNED)
                    _note_pruned(self, label, fold, mean, meta, folder)
        for i, entry in alive.items():
            proposer.tell(entry, sum(means[i]) / len(means[i]), COMPLETE)


def _note_pruned(
    loop: Any, label: str, fold: int, mean: float, meta: dict[str, Any] | None, folder: Any
) -> None:
    """A pruned candidate: kept in the metadata (``pruned``: label -> the fold it stopped
    after and its running mean) so reports say so, and its folds that will not run counted
    as done by the progress."""
    if meta is not None:
        meta.setdefault("pruned", {})[label] = {"after_fold": fold, "score": mean}
        if folder is not None:
            folder.write_metadata({k: v for k, v in meta.items() if k != "run_dir"})
    skipped = getattr(loop.progress, "skipped", None)
    if skipped is not None:
        skipped(len(loop.splits) - fold - 1)


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 1
