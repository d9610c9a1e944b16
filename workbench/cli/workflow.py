"""Pieces the workflow commands share: output checks, exporters, run folders, tables."""

from __future__ import annotations

import datetime as _dt
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from workbench.api.catalogue import registry as get_registry
from workbench.cli.common import console, err_console
from workbench.errors import ParamError, WorkbenchError
from workbench.results import Results


def check_writable(path: str | Path, what: str = "output") -> Path:
    """Refuse, before any work, an output path that cannot be written (one line)."""
    target = Path(path)
    if target.exists() and target.is_dir() and not str(path).endswith(("/", "\\")):
        folder = target
    elif target.exists():
        if not os.access(target, os.W_OK):
            raise WorkbenchError(f"cannot write {what} {target}: permission denied")
        return target
    else:
        folder = target.parent
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise WorkbenchError(f"cannot write {what} {target}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise WorkbenchError(f"cannot write {what} {target}: {probe} is not writable")
    return target


def config_value(doc: Any, key: str, cli: Any, default: Any = None) -> Any:
    """An option's value: from the command line, else the experiment file, else ``default``."""
    if cli is not None:
        return cli
    if doc is not None and key in doc.values:
        return doc.values[key]
    return default


def backend_of(doc: Any, backend: str | None, scheduler: str | None) -> Any:
    """The checked `workbench.backend.Backend` of ``--backend``/``--scheduler``, else the
    experiment file's ``backend``/``scheduler``, else local (the file's scheduler only goes
    with the file's backend); a bad value from the file names its line."""
    from workbench.api.runs import resolve_backend

    name = config_value(doc, "backend", backend, "local")
    if backend is not None and doc is not None and backend != doc.values.get("backend"):
        doc_scheduler = None  # another backend than the file's: not the file's cluster
    else:
        doc_scheduler = doc.values.get("scheduler") if doc is not None else None
    address = scheduler if scheduler is not None else doc_scheduler
    try:
        return resolve_backend(name, address)
    except WorkbenchError as exc:
        # a value from the file: the address's line when the address is at fault
        from_file = [
            key for key, cli in (("scheduler", scheduler), ("backend", backend))
            if cli is None and doc is not None and key in doc.values
            and doc.values[key] in (name, address)
        ]  # fmt: skip
        if not from_file:
            raise
        about_address = "address" in str(exc) or "scheduler" in str(exc)
        key = "scheduler" if "scheduler" in from_file and about_address else from_file[-1]
        from workbench.api.runs import locate_param_error

        raise locate_param_error(doc, (key,), exc) from None


def located(doc: Any, key: tuple, build: Any) -> Any:
    """Run ``build()``; a parameter error of a value from the file names its line."""
    from workbench.api.runs import locate_param_error

    try:
        return build()
    except (ParamError, WorkbenchError) as exc:
        if doc is None:
            raise
        raise locate_param_error(doc, key, exc) from None


def progress_bars(title: str) -> Any:
    """Rich progress bars for the tasks of a run."""
    from workbench.cli.progress import RichProgress

    return RichProgress(title)


def interrupted(folder: Path, command: str = "compare", finish: str | None = None) -> None:
    """After Ctrl-C (or SIGTERM): say what is kept and how to finish (``workbench COMMAND
    --resume``, or the ``finish`` text), exit 130 (143 after SIGTERM). Called while the
    interruption is being handled."""
    import sys

    import typer

    from workbench.api.runs import RunFolder
    from workbench.cli.signals import exit_code

    done = len(RunFolder(folder).finished()) if (folder / "results.jsonl").exists() else 0
    err_console.print(
        f"[red]interrupted:[/red] {done} finished results are kept in {folder}; "
        f"finish with: {finish or f'workbench {command} --resume --run-dir {folder}'}",
        markup=True,
    )
    raise typer.Exit(exit_code(sys.exc_info()[1]))


def ranking_view(ranking: Any) -> Any:
    """A search's ranking for the terminal: no bookkeeping columns unless a candidate is
    unfinished."""
    view = ranking.rename(columns={"fit_seconds": "fit s"})
    if "complete" in view.columns and bool(view["complete"].all()):
        view = view.drop(columns=["complete", "folds"])
    return view


def build_exporters(specs: Sequence[Any] | None) -> list[Any]:
    """Exporter instances from specs (None: the default export a plugin declares); unknown
    names and unwritable paths fail here."""
    from workbench.api.inputs import parse_spec

    if specs is None:
        specs = [get_registry().default("exporter")]
    exporters = []
    for spec in specs:
        exporter = parse_spec("exporter", spec).build()
        path = exporter.get_params().get("path")
        if path:
            check_writable(path, f"{exporter.name} export")
        exporters.append(exporter)
    return exporters


def run_exports(results: Results, exporters: Sequence[Any], *, json_mode: bool) -> list[Path]:
    """Run the exporters (the terminal table is skipped in JSON mode); returns files written."""
    written = []
    for exporter in exporters:
        if json_mode and exporter.extension is None:
            continue  # a terminal table would mix with the JSON on stdout
        out = exporter.export(results)
        if out is not None:
            written.append(Path(out))
    return written


def default_run_dir(kind: str) -> Path:
    """``runs/<kind>-YYYYmmdd-HHMMSS`` (a suffix when that exists)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{kind}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _short_p(row: dict[str, Any]) -> str:
    p = row.get("corrected_pvalue")
    if p is None or p != p:
        return "-"
    text = "<0.001" if p < 0.001 else f"{p:.3f}"
    return text + ("*" if row.get("significant") else "")


def print_table(table: Table) -> None:
    """Print a rich table; into a file or a pipe at its full width (cells never wrapped)."""
    if not console.is_terminal:
        needed = Console(file=io.StringIO(), width=10_000).measure(table).maximum
        console.width = max(console.width, needed)
    console.print(table)


def print_significance(results: Results) -> None:
    """The paired tests, compactly: per metric, the best model and the corrected p-value of
    its difference to each other model (the full table is in the JSON/HTML exports)."""
    rows = results.metadata.get("significance") or []
    folds = results.scores["fold"].nunique() if not results.scores.empty else 0
    if len(results.models) < 2:
        return
    if folds < 2 or not rows:
        console.print("Significance: needs at least 2 folds with every model finished.")
        return
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    best = {r["metric"]: r["best"] for r in rows}
    cell = {(r["other"], r["metric"]): r for r in rows}
    table = Table(
        title=f"Paired tests over {folds} folds: p-value of the best model vs each other",
        caption="best: the best mean; p: paired t-test with the Nadeau-Bengio correction "
        "for overlapping training sets; * p < 0.05 (details: JSON/HTML export)",
        caption_justify="left",
    )
    table.add_column("model", no_wrap=True)
    for metric in metrics:
        table.add_column(metric, justify="right", no_wrap=True)
    for model in results.models:
        values = []
        for metric in metrics:
            if best.get(metric) == model:
                values.append("best")
                continue
            r = cell.get((model, metric))
            values.append("-" if r is None else _short_p(r))
        table.add_row(model, *values)
    print_table(table)
    seeds = results.metadata.get("seed_variance")
    if seeds:  # compare --seeds: seed variance apart from fold variance
        frame = pd.DataFrame(seeds)[["metric", "model", "n_seeds", "n_folds", "mean",
                                     "fold_std", "seed_std"]]  # fmt: skip
        print_frame(frame, title="Seed variance apart from fold variance (same split)")


def print_frame(frame: pd.DataFrame, title: str | None = None, floatfmt: str = ".4g") -> None:
    """A DataFrame as a rich table."""
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col), justify="right" if frame[col].dtype.kind in "fiu" else "left")
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, float):
                cells.append("-" if value != value else format(value, floatfmt))
            else:
                cells.append("-" if value is None else str(value))
        table.add_row(*cells)
    print_table(table)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {message}", markup=True)


def note(message: str) -> None:
    err_console.print(message, markup=False)


def report_data(data: Any, *, quiet: bool = False) -> None:
    """Tell what loading did to the data of a run: merged duplicates, an inferred rating
    scale (notes unless ``quiet``; warnings always, on stderr)."""
    from workbench.api.inputs import data_notes

    for level, message in data_notes(data):
        if level == "warning":
            warn(message)
        elif not quiet:
            note(message)
