"""A progress bar for scripted runs (``wb.compare(...)``): rich's bar of (model, fold) tasks
in a terminal or a notebook, nothing elsewhere (a log, a test); off with ``progress=False``."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from workbench.experiments.runner import Progress


class BarProgress(Progress):
    """One rich bar counting finished (model, fold) tasks, the running ones named beside it."""

    def __init__(self, title: str, console: Any) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichBars

        self._lock = threading.Lock()
        self._running: list[str] = []
        self._bars = RichBars(
            TextColumn(f"[bold]{title}[/bold] models x folds"), BarColumn(bar_width=30),
            MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
            console=console, transient=False,
        )  # fmt: skip
        self._task: Any = None

    def start(self, total: int, done: int) -> None:
        self._bars.start()
        self._task = self._bars.add_task("", total=total, completed=done, info="")

    def task_started(self, label: str, fold: int) -> None:
        with self._lock:
            self._running.append(f"{label} fold {fold}")
            self._show()

    def task_finished(self, record: Mapping[str, Any]) -> None:
        with self._lock:
            name = f"{record['model']} fold {int(record['fold'])}"
            if name in self._running:
                self._running.remove(name)
            if self._task is not None:
                self._bars.advance(self._task)
            self._show()

    def _show(self) -> None:
        if self._task is not None:
            self._bars.update(self._task, info=", ".join(self._running[:3]))

    def close(self) -> None:
        self._bars.stop()


def wanted_console(progress: Any) -> Any:
    """The stderr console a bar goes to: for ``True``, only in a terminal or a notebook."""
    from rich.console import Console

    console = Console(stderr=True)
    return console if (console.is_terminal or console.is_jupyter) else None


@contextlib.contextmanager
def progress_events(progress: Any, title: str = "compare") -> Iterator[Progress | None]:
    """What a run's ``progress`` argument means: a `Progress` as it is, ``False``/None: none,
    ``True``: a `BarProgress` when the output is a terminal or a notebook."""
    if progress is None or progress is False:
        yield None
        return
    if isinstance(progress, Progress):
        yield progress
        return
    if progress is not True:
        from workbench.errors import ParamError

        raise ParamError(f"progress must be True, False or a Progress, got {progress!r}")
    console = wanted_console(progress)
    yield None if console is None else BarProgress(title, console)
