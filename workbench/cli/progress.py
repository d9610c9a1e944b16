"""Rich progress bars for comparisons and tuning: an overall bar and one bar per running task.

The overall bar counts (model, fold) tasks; each running task gets a nested bar over its
epochs showing the current training loss. Bars go to stderr, so ``--json`` output on stdout
stays clean.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from workbench.api.runs import ProgressEvents
from workbench.cli.common import err_console
from workbench.model import EpochInfo


class RichProgress(ProgressEvents):
    """Shows a run's progress on stderr (the events: `workbench.experiments.runner.Progress`)."""

    def __init__(self, title: str = "compare") -> None:
        self.title = title
        self._lock = threading.Lock()
        self._bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=err_console,
            transient=False,
            disable=not err_console.is_terminal,  # a log: one line per run at the end instead
        )
        self._log = not err_console.is_terminal
        self._counts = [0, 0]  # (model, fold) tasks done (or skipped), total
        self._overall: TaskID | None = None
        self._running: dict[tuple[str, int], TaskID] = {}
        self._done: set[tuple[str, int]] = set()  # late events of finished tasks are dropped
        self.failed: list[Mapping[str, Any]] = []

    def start(self, total: int, done: int) -> None:
        self._counts = [done, total]
        self._bars.start()
        info = f"({done} already done)" if done else ""
        self._overall = self._bars.add_task(
            f"[bold]{self.title}[/bold] models x folds", total=total, completed=done, info=info
        )

    def _bar(self, label: str, fold: int) -> TaskID | None:
        key = (label, fold)
        if key in self._done:
            return None
        if key not in self._running:
            self._running[key] = self._bars.add_task(f"  {label} fold {fold}", total=None, info="")
        return self._running[key]

    def task_started(self, label: str, fold: int) -> None:
        with self._lock:
            self._bar(label, fold)

    def epoch(self, label: str, fold: int, info: EpochInfo) -> None:
        with self._lock:
            bar = self._bar(label, fold)
            if bar is None:
                return
            self._bars.update(
                bar,
                total=max(int(info.n_epochs), 1),
                completed=int(info.epoch),
                info=f"loss {info.loss:.4g}",
            )

    def task_finished(self, record: Mapping[str, Any]) -> None:
        with self._lock:
            key = (str(record["model"]), int(record["fold"]))
            self._done.add(key)
            bar = self._running.pop(key, None)
            if bar is not None:
                self._bars.remove_task(bar)
            self._counts[0] += 1
            if self._overall is not None:
                self._bars.advance(self._overall)
            if record.get("error"):
                self.failed.append(record)
                self._bars.console.print(
                    f"[yellow]warning:[/yellow] {record['model']} fold {int(record['fold'])} "
                    f"failed: {record['error']}",
                    markup=True,
                )

    def skipped(self, n: int) -> None:
        with self._lock:
            self._counts[0] += max(n, 0)
            if self._overall is not None and n > 0:
                self._bars.advance(self._overall, n)

    def note(self, text: str) -> None:
        with self._lock:
            self._bars.console.print(f"note: {text}", markup=False, highlight=False)

    def close(self) -> None:
        with self._lock:
            for bar in self._running.values():
                self._bars.remove_task(bar)
            self._running.clear()
            self._bars.stop()
            if self._log and self._overall is not None:
                done, total = self._counts
                self._bars.console.print(
                    f"{self.title}: {min(done, total)}/{total} (model, fold) tasks done",
                    markup=False, highlight=False,
                )  # fmt: skip
            self._overall = None
