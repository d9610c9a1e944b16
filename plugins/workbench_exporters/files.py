"""File exporters: CSV (per fold or summary), JSON (full detail) and Markdown."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Literal

import pandas as pd
from pydantic import Field

from workbench.exporter import Exporter
from workbench.results import Results
from workbench.storage import workbench_version
from workbench_exporters.common import (
    TIMING,
    FileParams,
    build_table,
    describe_run,
    environment,
    jsonable,
    number,
    output_path,
    write_text,
)


class CsvParams(FileParams):
    table: Literal["folds", "summary", "scores"] = Field(
        "folds",
        description="folds: one row per (model, fold) with metrics and timings; summary: "
        "mean and std per model; scores: the long (model, fold, metric, value) table",
    )


def summary_frame(results: Results) -> pd.DataFrame:
    """One row per model: ``<metric>_mean``, ``<metric>_std``, timings, folds."""
    summary = results.summary()
    if summary.empty:
        return pd.DataFrame(columns=["model"])
    flat = summary.copy()
    flat.columns = [f"{col}_{stat}" for col, stat in flat.columns]
    flat.insert(0, "folds", results.scores.groupby("model")["fold"].nunique())
    counts = results.fold_counts()
    for metric in counts.columns:  # folds each mean covers, where some have no value
        if (counts[metric] < flat["folds"].reindex(counts.index)).any():
            flat[f"{metric}_folds"] = counts[metric]
    return flat.rename_axis("model").reset_index()


class Csv(Exporter):
    """Comma-separated values: by default one row per (model, fold) with every metric,
    fit_seconds and predict_seconds (table=summary: mean/std per model; table=scores: the
    long model, fold, metric, value table)."""

    name = "csv"
    extension: ClassVar[str | None] = ".csv"
    Params = CsvParams

    def export(self, results: Results, path: Path | None = None) -> Path | None:
        kind = self.params.table
        if kind == "folds":
            frame = results.to_pandas()
        elif kind == "summary":
            frame = summary_frame(results)
        else:
            frame = results.scores
        target = output_path(path, self.params.path, results, ".csv")
        return write_text(target, frame.to_csv(index=False, float_format="%.10g"))


class JsonParams(FileParams):
    indent: int | None = Field(2, ge=0, description="indentation (none: one line)")


def full_record(results: Results) -> dict:
    """Everything: metadata (dataset, splitter, protocol, seed, versions), per-fold scores,
    runs (params, timings, diagnostics), learning curves, and the mean/std summary."""
    data = results.to_dict()
    data["summary"] = json.loads(summary_frame(results).to_json(orient="records"))
    data["missing_folds"] = results.missing_folds()
    data["export"] = {
        "format": "recsys-workbench-results",
        "format_version": 1,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "workbench_version": workbench_version(),
        "environment": environment(),
    }
    return jsonable(data)


class Json(Exporter):
    """JSON with full detail: run metadata (dataset, splitter, protocol, seed, versions), every
    fold's scores, each run's parameters, timings and diagnostics (cold users/items/pairs),
    learning curves and the mean/std summary. Results.from_dict reads it back."""

    name = "json"
    extension: ClassVar[str | None] = ".json"
    Params = JsonParams

    def export(self, results: Results, path: Path | None = None) -> Path | None:
        text = json.dumps(full_record(results), indent=self.params.indent, allow_nan=False)
        target = output_path(path, self.params.path, results, ".json")
        return write_text(target, text + "\n")


class MarkdownParams(FileParams):
    title: str | None = Field("Results", description="heading (none: no heading)")


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(results: Results, title: str | None = "Results") -> str:
    """A GitHub-flavoured Markdown table of mean ± std, best per metric in bold."""
    table = build_table(results)
    lines: list[str] = []
    if title:
        lines += [f"## {title}", ""]
    facts = describe_run(results)
    if facts:
        lines += ["; ".join(f"**{k}**: {_md_escape(v)}" for k, v in facts), ""]
    head = ["model"] + [f"{m} {table.arrow(m)}" for m in table.metrics]
    head += [TIMING[t] for t in table.timings]
    lines.append("| " + " | ".join(_md_escape(h) for h in head) + " |")
    lines.append("|" + "---|" + "---:|" * (len(head) - 1))
    for model in table.models:
        row = [_md_escape(model)]
        for metric in table.metrics:
            cell = table.cells.get((model, metric))
            text = table.text(model, metric)
            row.append(f"**{text}**" if cell and cell.best else text)
        row += [table.text(model, t) for t in table.timings]
        lines.append("| " + " | ".join(row) + " |")
    notes = []
    if table.max_folds > 1:
        notes.append(f"mean ± standard deviation over {table.max_folds} folds")
    notes.append("↑ higher is better, ↓ lower is better; best in bold")
    if table.timings:
        notes.append("times in seconds per fold")
    lines += ["", "_" + "; ".join(notes) + "._", ""]
    missing = table.missing_notes()
    if missing:
        lines += [f"- {_md_escape(line)}" for line in missing] + [""]
    return "\n".join(lines)


class Markdown(Exporter):
    """A Markdown table for READMEs and pull requests: mean ± std per model and metric, the
    best in bold, timings, and a line with the dataset, split, protocol and seed."""

    name = "markdown"
    extension: ClassVar[str | None] = ".md"
    Params = MarkdownParams

    def export(self, results: Results, path: Path | None = None) -> Path | None:
        target = output_path(path, self.params.path, results, ".md")
        return write_text(target, markdown(results, self.params.title))


__all__ = ["Csv", "Json", "Markdown", "full_record", "markdown", "number", "summary_frame"]
