"""The HTML report: one self-contained file (inline CSS and SVG charts, no scripts, nothing
fetched at view time) with the results table, a bar chart per metric with error bars across
folds, accuracy vs fit time, learning curves, the activity analysis and the run's metadata."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field

from workbench.analysis.protocol_notes import candidate_set
from workbench.exporter import Exporter
from workbench.results import Results
from workbench.storage import workbench_version
from workbench_exporters.common import (
    TIMING,
    FileParams,
    Table,
    build_table,
    describe_run,
    environment,
    jsonable,
    number,
    output_path,
    write_text,
)
from workbench_exporters.significance import STATISTICS_KEYS, significance_section


class _LazyCharts:
    """`workbench_exporters.charts`, imported on first use: matplotlib is slow to import and
    registering the exporter (every CLI start) must not pay for it."""

    def __getattr__(self, name: str) -> Any:
        from workbench_exporters import charts as module

        return getattr(module, name)


charts = _LazyCharts()

CSS = """
:root { --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --soft:#f6f8fa; --accent:#0969da;
        --best:#1a7f37; --bestbg:#dafbe1; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color:var(--ink); background:#fff; }
header { background:linear-gradient(135deg,#0b3d91,#0969da); color:#fff; padding:28px 40px 18px; }
header h1 { margin:0 0 6px; font-size:26px; }
header .facts { margin:0; opacity:.92; font-size:14px; }
header .facts b { font-weight:600; }
nav { margin-top:14px; display:flex; flex-wrap:wrap; gap:6px; }
nav a { color:#fff; text-decoration:none; font-size:13px; padding:3px 10px;
        border:1px solid rgba(255,255,255,.45); border-radius:999px; }
nav a:hover { background:rgba(255,255,255,.15); }
main { max-width:1280px; margin:0 auto; padding:10px 40px 40px; }
section { margin-top:34px; }
h2 { font-size:20px; border-bottom:1px solid var(--line); padding-bottom:6px; margin:0 0 14px; }
h3 { font-size:16px; margin:18px 0 8px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(190px,1fr)); gap:12px; }
.card { border:1px solid var(--line); border-radius:10px; padding:12px 14px;
        background:var(--soft); }
.card .metric { color:var(--muted); font-size:13px; }
.card .value { font-size:22px; font-weight:600; }
.card .model { font-size:13px; color:var(--best); font-weight:600; }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; font-size:13.5px; font-variant-numeric:tabular-nums; }
th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:right;
         white-space:nowrap; }
th { background:var(--soft); font-weight:600; position:sticky; top:0; }
th:first-child, td:first-child { text-align:left; }
td.best { color:var(--best); background:var(--bestbg); font-weight:700; }
th.text, td.text { text-align:left; white-space:normal; min-width:240px; max-width:480px; }
#runs-table { font-size:12.5px; } #runs-table th { white-space:normal; vertical-align:bottom; }
#params-table td.text { min-width:320px; max-width:none; word-break:break-word; font-size:12.5px; }
@media (max-width: 700px) { header { padding:18px 16px 12px; } main { padding:6px 12px 24px; }
  .grid { grid-template-columns:1fr; } }
tr:hover td { background:#f0f6ff; }
tr.best-row td { background:var(--bestbg); color:var(--best); font-weight:700; }
tr:hover td.best { background:var(--bestbg); }
.note { color:var(--muted); font-size:13px; margin:6px 0 0; }
.grid { display:grid; grid-template-columns:repeat(auto-fill,minmax(360px,1fr)); gap:16px; }
figure { margin:0; border:1px solid var(--line); border-radius:10px; padding:10px;
         background:#fff; }
figure svg { width:100%; height:auto; display:block; }
figcaption { color:var(--muted); font-size:12.5px; margin-top:4px; }
details { margin-top:12px; }
summary { cursor:pointer; color:var(--accent); }
dl { display:grid; grid-template-columns:max-content 1fr; gap:6px 18px; margin:0; }
dt { font-weight:600; color:var(--muted); }
dd { margin:0; }
pre { margin:0; background:var(--soft); padding:8px 10px; border-radius:6px; font-size:12.5px;
      white-space:pre-wrap; word-break:break-word; }
.empty { color:var(--muted); font-style:italic; }
.errors { border:1px solid #f0b4b4; background:#fff5f5; border-radius:10px; padding:4px 16px; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:20px; }
"""

BEYOND_ACCURACY = {"coverage", "novelty", "popularity", "diversity", "personalisation"}


class HtmlParams(FileParams):
    title: str = Field("recsys-workbench report", description="page title")
    scatter: list[str] = Field(
        default_factory=list,
        description="metrics plotted against fit time (default: the first rating metric and "
        "the first ranking metric)",
    )


def _category(label: str) -> str | None:
    name = re.split(r"[@\[]", label, maxsplit=1)[0]
    try:
        from workbench.plugins import get_registry

        return get_registry().get("metric", name).category
    except Exception:  # noqa: BLE001 - unknown metric: fall back to its name
        if name in BEYOND_ACCURACY:
            return "list"
        return "ranking" if "@" in label or name == "auc" else "rating"


def _scatter_metrics(results: Results, chosen: list[str]) -> list[str]:
    if chosen:
        return [m for m in chosen if m in results.metric_labels]
    picked: list[str] = []
    for wanted in ("rating", "ranking"):
        for label in results.metric_labels:
            if _category(label) == wanted:
                picked.append(label)
                break
    return picked


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return number(value)
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return "-"
    return escape(str(value))


def results_table(table: Table) -> str:
    head = "".join(f"<th>{escape(m)} {table.arrow(m)}</th>" for m in table.metrics) + "".join(
        f"<th>{escape(TIMING[t])}</th>" for t in table.timings
    )
    rows = []
    for model in table.models:
        cells = [f"<td>{escape(model)}</td>"]
        for metric in table.metrics:
            cell = table.cells.get((model, metric))
            text = escape(table.text(model, metric))
            if cell and cell.best:
                cells.append(f'<td class="best" title="best {escape(metric)}">{text} ★</td>')
            else:
                cells.append(f"<td>{text}</td>")
        cells += [f"<td>{escape(table.text(model, t))}</td>" for t in table.timings]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<div class="scroll"><table id="results-table" class="results">'
        f"<thead><tr><th>model</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table></div>"
    )


def frame_table(frame: pd.DataFrame, table_id: str, text_columns: set[str] = frozenset()) -> str:
    if frame.empty:
        return '<p class="empty">nothing recorded</p>'
    heads = []
    for c in frame.columns:
        cls = ' class="text"' if c in text_columns else ""
        heads.append(f"<th{cls}>{escape(str(c))}</th>")
    head = "".join(heads)
    whole = set()  # float columns holding whole numbers only (counts, seeds): no decimals
    for col in frame.columns:
        if pd.api.types.is_float_dtype(frame[col]):
            values = frame[col].dropna().to_numpy()
            if len(values) and np.all(np.isfinite(values)) and np.all(values == np.round(values)):
                whole.add(col)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for col, value in zip(frame.columns, row, strict=True):
            cls = ' class="text"' if col in text_columns else ""
            shown = _cell(value)
            if col in whole and isinstance(value, float) and not math.isnan(value):
                shown = str(int(value))
            cells.append(f"<td{cls}>{shown}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _figure(svg: str, kind: str, caption: str, extra: str = "") -> str:
    return (
        f'<figure class="chart" data-chart="{kind}"{extra}>{svg}'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _cards(results: Results, table: Table) -> str:
    cards = []
    for metric in table.metrics:
        best = [m for m in table.models if (c := table.cells.get((m, metric))) and c.best]
        if not best:
            continue
        cell = table.cells[(best[0], metric)]
        cards.append(
            f'<div class="card"><div class="metric">{escape(metric)} {table.arrow(metric)}</div>'
            f'<div class="value">{escape(number(cell.mean))}</div>'
            f'<div class="model">{escape(", ".join(best))}</div></div>'
        )
    if not cards:
        return ""
    return (
        '<section id="best"><h2>Best per metric</h2>'
        f'<div class="cards">{"".join(cards)}</div></section>'
    )


def _errors(results: Results) -> str:
    errors = [e for e in results.metadata.get("errors") or [] if isinstance(e, dict)]
    if not errors:
        return ""
    rows = "".join(
        f"<li><b>{escape(str(e.get('model')))}</b> fold {escape(str(e.get('fold')))}: "
        f"{escape(str(e.get('error')))}</li>"
        for e in errors
    )
    return (
        f'<section id="errors" class="errors"><h2>Failed runs ({len(errors)})</h2>'
        f"<ul>{rows}</ul></section>"
    )


def _metadata(results: Results) -> str:
    shown_elsewhere = ("activity", "errors", *STATISTICS_KEYS)  # sections of their own
    meta = {k: v for k, v in results.metadata.items() if k not in shown_elsewhere}
    items = []
    for key, value in meta.items():
        value = jsonable(value)
        records = isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        if records and all(not isinstance(x, dict | list) for v in value for x in v.values()):
            shown = frame_table(pd.DataFrame(value), f"meta-{escape(str(key))}")
        elif isinstance(value, dict | list):
            shown = f"<pre>{escape(json.dumps(value, indent=2))}</pre>"
        else:
            shown = escape(str(value))
        items.append(f"<dt>{escape(str(key))}</dt><dd>{shown}</dd>")
    env = escape(json.dumps(environment(), indent=2))
    items.append(f"<dt>report environment</dt><dd><pre>{env}</pre></dd>")
    return f'<dl id="metadata-list">{"".join(items)}</dl>'


def _runs(results: Results) -> str:
    """The runs, narrow enough for the page: one row per (model, fold) with what varies; what
    is the same on every run in one note; the parameters (the same on every fold of a model)
    in a table of their own, one row per model."""
    runs = results.runs.copy()
    if runs.empty:
        return '<p class="empty">no runs recorded</p>'
    per_model = [c for c in ("params", "cold_fallback") if c in runs.columns]
    rows = runs.drop(columns=[c for c in ("model_name", *per_model) if c in runs.columns])
    if "finished" in rows.columns:  # an ISO time: the clock time is what tells runs apart
        rows["finished"] = rows["finished"].astype(str).str.slice(5, 16).str.replace("T", " ")
    constant = {
        c: rows[c].iloc[0]
        for c in rows.columns
        if c not in ("model", "fold") and rows[c].astype(str).nunique(dropna=False) == 1
    }
    rows = rows.drop(columns=list(constant))
    front = ["model", "fold", "fit_seconds", "predict_seconds"]
    cols = [c for c in front if c in rows.columns]
    cols += [c for c in rows.columns if c not in cols]
    rows = rows[cols].rename(columns=lambda c: c.replace("_", " "))
    shown = [
        f"{escape(k.replace('_', ' '))} {_cell(v)}"
        for k, v in constant.items()
        if not (v is None or (pd.api.types.is_scalar(v) and pd.isna(v)))
    ]
    parts = [frame_table(rows, "runs-table")]
    if shown:
        parts.append(f'<p class="note">The same on every run: {", ".join(shown)}.</p>')
    if per_model:
        models = runs.drop_duplicates("model")[["model", *per_model]].copy()
        if "params" in models.columns:
            models["params"] = models["params"].map(_compact_params)
        parts.append("<h3>Parameters per model</h3>")
        parts.append(frame_table(models, "params-table", set(per_model)))
    return "".join(parts)


def _compact_params(value: Any) -> str:
    """``{"n_factors": 50, "reg": 0.02}`` as ``n_factors=50 reg=0.02`` (None values left out)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if not isinstance(value, dict):
        return "" if value is None else str(value)
    return " ".join(f"{k}={json.dumps(v)}" for k, v in value.items() if v is not None)


def _activity(results: Results, colors: dict) -> str:
    records = results.metadata.get("activity")
    if not records:
        return ""
    from workbench.analysis.activity import plot_activity

    frame = pd.DataFrame(records)
    for col in ("min_train", "max_train"):
        if col in frame.columns:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    parts = [
        '<section id="activity"><h2>Performance by user activity</h2>',
        '<p class="note">Test users grouped by how many interactions they have in train: '
        "with how few ratings can we recommend well?</p>",
    ]
    try:
        fig = plot_activity(frame)
        parts.append(
            _figure(
                charts.to_svg(fig, "activity"),
                "activity",
                "metrics per bucket of train interactions (one line per model)",
            )
        )
    except Exception as exc:  # noqa: BLE001 - the table still shows
        parts.append(f'<p class="empty">activity plot unavailable: {escape(str(exc))}</p>')
    parts.append("<h3>Table</h3>")
    parts.append(frame_table(frame, "activity-table"))
    parts.append("</section>")
    return "".join(parts)


def render_html(
    results: Results, title: str = "recsys-workbench report", scatter: list[str] = ()
) -> str:
    """The whole report as one HTML string."""
    table = build_table(results)
    colors = charts.model_colors(results.models)
    facts = describe_run(results)
    fact_html = " · ".join(f"<b>{escape(k)}</b>: {escape(v)}" for k, v in facts)
    sections: list[str] = [_errors(results), _cards(results, table)]

    notes = ["↑ higher is better, ↓ lower is better; ★ best mean"]
    if table.max_folds > 1:
        notes.insert(0, f"mean ± standard deviation over {table.max_folds} folds")
    if table.timings:
        notes.append("times in seconds per fold")
    folds = results.to_pandas()
    sections.append(
        '<section id="results"><h2>Results</h2>'
        + results_table(table)
        + f'<p class="note">{escape("; ".join(notes))}.</p>'
        + "".join(f'<p class="note missing">{escape(line)}</p>' for line in table.missing_notes())
        + "<details><summary>Every fold</summary>"
        + frame_table(folds, "folds-table")
        + "</details></section>"
    )

    bars = []
    for i, metric in enumerate(table.metrics):
        best = [m for m in table.models if (c := table.cells.get((m, metric))) and c.best]
        fig = charts.metric_bars(results, metric, colors, best[0] if best else None)
        caption = f"{metric}: mean per model" + (
            ", error bars: ± one standard deviation across folds" if table.max_folds > 1 else ""
        )
        sub = results.scores[results.scores["metric"] == metric].dropna(subset=["value"])
        empty = [m for m in table.models if m not in set(sub["model"])]
        if empty:
            why = "ranking-only models" if _category(metric) == "rating" else "no value recorded"
            caption += f"; n/a: {', '.join(empty)} ({why}, see the notes under Results)"
        wide = ' style="grid-column:1/-1"' if len(table.models) > 8 else ""
        bars.append(
            _figure(
                charts.to_svg(fig, f"bar-{i}"),
                "metric",
                caption,
                f' data-metric="{escape(metric)}"{wide}',
            )
        )
    sections.append(
        '<section id="charts"><h2>Metrics</h2>'
        + (
            f'<div class="grid">{"".join(bars)}</div>'
            if bars
            else '<p class="empty">no metrics</p>'
        )
        + "</section>"
    )

    scatters = []
    for i, metric in enumerate(_scatter_metrics(results, list(scatter))):
        fig = charts.accuracy_vs_time(results, metric, colors)
        if fig is not None:
            scatters.append(
                _figure(
                    charts.to_svg(fig, f"scatter-{i}"),
                    "scatter",
                    f"{metric} against fit time per fold (error bars across folds)",
                    f' data-metric="{escape(metric)}"',
                )
            )
    sections.append(
        '<section id="tradeoff"><h2>Accuracy vs fit time</h2>'
        + (
            f'<div class="grid">{"".join(scatters)}</div>'
            if scatters
            else '<p class="empty">no fit times recorded</p>'
        )
        + "</section>"
    )

    fig = charts.learning_curves(results, colors)
    curves = (
        _figure(
            charts.to_svg(fig, "curves"),
            "curves",
            "training loss per epoch (mean over folds, range shaded) and validation metrics",
        )
        if fig is not None
        else '<p class="empty">no learning curves recorded (models without epochs)</p>'
    )
    sections.append(f'<section id="curves"><h2>Learning curves</h2>{curves}</section>')
    sections.append(_activity(results, colors))
    sections.append(significance_section(results))
    from workbench_exporters.tuning import section as tuning_section

    sections.insert(2, tuning_section(results, frame_table, charts.to_svg))
    sections.append(f'<section id="runs"><h2>Runs</h2>{_runs(results)}</section>')
    sections.append(f'<section id="metadata"><h2>Run metadata</h2>{_metadata(results)}</section>')

    nav_items = [
        ("best", "Best"),
        ("tuning", "Tuning"),
        ("results", "Results"),
        ("charts", "Metrics"),
        ("tradeoff", "Accuracy vs time"),
        ("curves", "Learning curves"),
        ("activity", "User activity"),
        ("significance", "Significance"),
        ("runs", "Runs"),
        ("metadata", "Metadata"),
    ]
    body = "".join(s for s in sections if s)
    nav = "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in nav_items if f'id="{a}"' in body)
    exported = datetime.now(UTC).isoformat(timespec="seconds")
    evaluated = candidate_set(results.metadata)
    candidates = f"evaluated candidates: {escape(evaluated)} · " if evaluated else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="recsys-workbench {escape(workbench_version())}">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{escape(title)}</h1><p class="facts">{fact_html}</p><nav>{nav}</nav></header>'
        f"<main>{body}</main>"
        f"<footer>{candidates}recsys-workbench {escape(workbench_version())} · "
        f"exported {exported}</footer>"
        "</body></html>\n"
    )


class Html(Exporter):
    """A self-contained HTML report (one file, no network at view time): the results table
    (best highlighted), a bar chart per metric with error bars across folds, accuracy vs
    fit time, learning curves per model, performance by user activity (when recorded) and
    the run's metadata. Charts are matplotlib SVG inlined in the page."""

    name = "html"
    extension: ClassVar[str | None] = ".html"
    Params = HtmlParams

    def export(self, results: Results, path: Path | None = None) -> Path | None:
        text = render_html(results, self.params.title, self.params.scatter)
        target = output_path(path, self.params.path, results, ".html")
        return write_text(target, text)
