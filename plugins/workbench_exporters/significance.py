"""The HTML report's significance section: intervals per model, a compact pairwise matrix
per metric (per-user tests, adjusted), the fold-level tests and seed variance.

Definitions: `workbench.analysis.pairwise` (per-user tests, intervals),
`workbench.analysis.stats` (fold-level Nadeau-Bengio test), `workbench.analysis.seeds`.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import pandas as pd

from workbench.results import Results

#: metadata keys this section shows (the "Run metadata" section leaves them out)
STATISTICS_KEYS = ("significance", "pairwise", "intervals", "statistics", "seed_variance")
ADJUSTED = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg"}


def _num(value: Any, digits: int = 4) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "-"
    return "-" if math.isnan(x) else f"{x:.{digits}g}"


def _p(value: Any) -> str:
    try:
        p = float(value)
    except (TypeError, ValueError):
        return "-"
    if math.isnan(p):
        return "-"
    return "&lt;0.001" if p < 0.001 else f"{p:.3f}"


def _table(head: list[str], rows: list[list[str]], table_id: str) -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _intervals(records: list[dict[str, Any]], models: list[str]) -> str:
    frame = pd.DataFrame(records)
    metrics = list(dict.fromkeys(frame["metric"]))
    level = float(frame["level"].iloc[0]) if "level" in frame.columns else 0.95
    cells = {(r["model"], r["metric"]): r for r in records}
    rows = []
    for model in models:
        row = [escape(model)]
        for metric in metrics:
            r = cells.get((model, metric))
            row.append(
                "-"
                if r is None
                else f"{_num(r['mean'])} [{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
            )
        rows.append(row)
    head = ["model", *(escape(m) for m in metrics)]
    note = (
        f'<p class="note">Mean and {level:.0%} bootstrap interval over users (resampled '
        "within each fold, seeded by the run's seed).</p>"
    )
    return "<h3>Intervals</h3>" + note + _table(head, rows, "intervals-table")


def _matrix(metric: str, rows: list[dict[str, Any]], models: list[str]) -> str:
    """Lower triangle: adjusted per-user t p-value (bold below alpha), the better model's
    arrow (← row, ↑ column) and Cohen's d_z."""
    cell = {(r["model_a"], r["model_b"]): r for r in rows}
    present = [m for m in models if any(m in (r["model_a"], r["model_b"]) for r in rows)]
    body = []
    for i, a in enumerate(present):
        line = [f"<b>{escape(a)}</b>"]
        for j, b in enumerate(present):
            if j >= i:
                line.append("")
                continue
            r = cell.get((b, a)) or cell.get((a, b))
            if r is None:
                line.append("-")
                continue
            p = _p(r.get("t_pvalue_adjusted"))
            if r.get("significant"):
                p = f"<b>{p}</b>"
            arrow = "←" if r.get("better") == a else ("↑" if r.get("better") == b else "")
            line.append(f"{p} {arrow}<br><small>d={_num(r.get('effect_size'), 2)}</small>")
        body.append(line)
    head = ["", *(escape(m) for m in present)]
    return f"<h4>{escape(metric)}</h4>" + _table(head, body, f"pairs-{escape(metric)}")


def _fold_level(records: list[dict[str, Any]]) -> str:
    rows = [
        [escape(str(r["metric"])), escape(str(r["best"])), escape(str(r["other"])),
         str(r.get("n_folds", "-")), _num(r.get("mean_diff")), _p(r.get("t_pvalue")),
         _p(r.get("corrected_pvalue")), _p(r.get("wilcoxon_pvalue"))]
        for r in records
    ]  # fmt: skip
    head = ["metric", "best", "other", "folds", "difference", "t p", "corrected p", "Wilcoxon p"]
    return (
        "<h3>Fold-level tests: the best model against each other</h3>"
        '<p class="note">Paired over fold means; "corrected": Nadeau and Bengio\'s variance '
        "correction for overlapping training sets (unadjusted).</p>"
        + _table(head, rows, "fold-tests-table")
    )


def _seeds(records: list[dict[str, Any]]) -> str:
    rows = [
        [escape(str(r["metric"])), escape(str(r["model"])), str(r["n_seeds"]),
         str(r["n_folds"]), _num(r["mean"]), _num(r["fold_std"]), _num(r["seed_std"])]
        for r in records
    ]  # fmt: skip
    head = ["metric", "model", "seeds", "folds", "mean", "fold std", "seed std"]
    return (
        "<h3>Seed variance and fold variance</h3>"
        '<p class="note">The same split trained with several seeds: "fold std" is the '
        'spread of the per-fold mean over seeds, "seed std" the spread over seeds with the '
        "data fixed.</p>" + _table(head, rows, "seed-variance-table")
    )


def significance_section(results: Results) -> str:
    """The section's HTML, or "" when the run has nothing to test (one model, no folds)."""
    meta = results.metadata
    pairs = meta.get("pairwise") or []
    ci = meta.get("intervals") or []
    folds = meta.get("significance") or []
    seeds = meta.get("seed_variance") or []
    if not (pairs or ci or folds or seeds):
        return ""
    models = results.models
    settings = meta.get("statistics") or {}
    method = ADJUSTED.get(str(settings.get("adjust", "holm")), str(settings.get("adjust")))
    parts = ['<section id="significance"><h2>Significance</h2>']
    if ci:
        parts.append(_intervals(ci, models))
    if pairs:
        parts.append(
            "<h3>Every pair of models</h3>"
            '<p class="note">Each cell: the paired t-test over users (folds as blocks) with '
            f"p-values adjusted over all pairs of the metric ({escape(method)}); bold: "
            f"significant at {escape(str(settings.get('alpha', 0.05)))}; the arrow points to "
            "the better model; d: Cohen's d_z of the per-user differences. The JSON export "
            "and <code>workbench.pairwise_tests</code> hold the Wilcoxon and fold-level tests "
            "too.</p>"
        )
        by_metric: dict[str, list[dict[str, Any]]] = {}
        for r in pairs:
            by_metric.setdefault(str(r["metric"]), []).append(r)
        for metric, rows in by_metric.items():
            parts.append(_matrix(metric, rows, models))
    if folds:
        parts.append(_fold_level(folds))
    if seeds:
        parts.append(_seeds(seeds))
    parts.append("</section>")
    return "".join(parts)
