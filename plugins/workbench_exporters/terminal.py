"""The terminal table: mean ± std per model and metric, best value highlighted, timings."""

from __future__ import annotations

import io
from pathlib import Path
from typing import ClassVar

from pydantic import Field
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from workbench.exporter import Exporter
from workbench.params import Params
from workbench.results import Results
from workbench_exporters.common import (
    TIMING,
    Table,
    build_table,
    describe_run,
    number,
    output_path,
    write_text,
)


class TerminalParams(Params):
    path: str | None = Field(None, description="also write the table as plain text to this file")
    title: str = Field("Results", description="table title")


def _intervals(results: Results) -> dict[tuple[str, str], str]:
    """``[low, high]`` of each (model, metric) bootstrap interval the run kept."""
    out = {}
    for r in results.metadata.get("intervals") or []:
        if r.get("ci_low") is not None and r.get("ci_high") is not None:
            out[(r["model"], r["metric"])] = f" [{number(r['ci_low'])}, {number(r['ci_high'])}]"
    return out


def _value(
    table: Table, model: str, column: str, ci: dict[tuple[str, str], str] | None = None
) -> Text | str:
    cell = table.cells.get((model, column))
    text = table.text(model, column) + (ci or {}).get((model, column), "")
    return Text(text, style="bold green") if cell is not None and cell.best else text


def _frame(table: Table, results: Results, title: str) -> RichTable:
    caption = "  ".join(f"{k}: {v}" for k, v in describe_run(results))
    suffix = f" (mean ± std over {table.max_folds} folds)" if table.max_folds > 1 else ""
    caption = (caption + "  " if caption else "") + "bold green: best"
    ci = results.metadata.get("intervals") or []
    if ci:
        level = float(ci[0].get("level") or 0.95)
        caption += f"  \\[a, b]: {level:.0%} bootstrap interval over users"  # not rich markup
    for line in table.missing_notes():
        caption += "\n" + line
    return RichTable(title=f"{title}{suffix}", caption=caption, caption_justify="left")


def wide(results: Results, title: str = "Results") -> RichTable:
    """One row per model, one column per metric (then timings)."""
    table = build_table(results)
    out = _frame(table, results, title)
    out.add_column("model", style="bold", no_wrap=True)
    for metric in table.metrics:
        out.add_column(f"{metric} {table.arrow(metric)}", justify="right", no_wrap=True)
    for timing in table.timings:
        out.add_column(TIMING[timing], justify="right", style="dim", no_wrap=True)
    ci = _intervals(results)
    for model in table.models:
        row = [model] + [_value(table, model, c, ci) for c in table.metrics + table.timings]
        out.add_row(*row)
    return out


def tall(results: Results, title: str = "Results") -> RichTable:
    """One row per metric (then timings), one column per model: for narrow terminals."""
    table = build_table(results)
    out = _frame(table, results, title)
    out.add_column("metric", style="bold", no_wrap=True)
    for model in table.models:
        out.add_column(model, justify="right", overflow="fold")
    ci = _intervals(results)
    for column in table.metrics + table.timings:
        name = f"{column} {table.arrow(column)}" if column in table.metrics else TIMING[column]
        out.add_row(name, *[_value(table, model, column, ci) for model in table.models])
    return out


def table_width(table: RichTable) -> int:
    """Columns the table needs without wrapping a cell."""
    return Console(file=io.StringIO(), width=10_000).measure(table).maximum


def render(results: Results, title: str = "Results", width: int | None = None) -> RichTable:
    """The wide table if it fits in ``width`` columns, else the tall (transposed) one if that
    fits; when neither fits, the narrower of the two."""
    table = wide(results, title)
    if width is None or table_width(table) <= width:
        return table
    transposed = tall(results, title)
    return transposed if table_width(transposed) < table_width(table) else table


class Terminal(Exporter):
    """A table in the terminal: mean ± std per model and metric (↑ higher is better,
    ↓ lower is better), the best model of each metric in bold green, fit and predict
    seconds per fold, and a caption with the dataset, split, protocol and seed. Narrow
    terminals get one row per metric instead of one per model."""

    name = "terminal"
    extension: ClassVar[str | None] = None
    Params = TerminalParams

    def export(self, results: Results, path: Path | None = None) -> Path | None:
        console = Console(highlight=False, soft_wrap=True)  # stdout, as it is at this moment
        if console.is_terminal:
            console.print(render(results, self.params.title, console.width))
        else:  # a file or a pipe: never wrap cells, whatever the table's width
            table = render(results, self.params.title, None)
            console.width = max(console.width, table_width(table))
            console.print(table)
        target = path if path is not None else self.params.path
        if target is None:
            return None
        buffer = io.StringIO()
        plain = Console(file=buffer, width=200, color_system=None, highlight=False)
        plain.print(render(results, self.params.title, 200))
        return write_text(output_path(target, None, results, ".txt"), buffer.getvalue())
