"""The tuning section of the HTML report (a run folder of ``workbench tune``): every
candidate with its parameters and status (pruned ones say after which fold and at what
score), the best highlighted; the score against each tuned parameter; the best so far by
candidate, in the order the search tried them."""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from workbench.results import Results, pruned_reason


def candidates(results: Results) -> tuple[pd.DataFrame, list[str], str] | None:
    """(ranking with a status column, the tuned parameters, the metric), or None when the
    results are not a search's."""
    from workbench.errors import WorkbenchError
    from workbench.search.tuning import TuneResult

    if results.metadata.get("kind") != "tune":
        return None
    try:
        outcome = TuneResult.from_results(results)
    except WorkbenchError:
        return None
    info = results.metadata.get("tune") or {}
    tuned = list(info.get("space") or {})
    if not tuned:  # a grid/random search lists its candidates with every parameter
        fixed = set(info.get("fixed") or {})
        tuned = [
            c for c in outcome.ranking.columns
            if c not in {"rank", "label", "mean", "std", "folds", "fit_seconds", "complete"}
            and c not in fixed
        ]  # fmt: skip
    ranking = outcome.ranking.copy()
    pruned = results.metadata.get("pruned") or {}
    ranking["status"] = [
        pruned_reason(pruned[label]) if label in pruned else ("complete" if done else "unfinished")
        for label, done in zip(ranking["label"], ranking["complete"], strict=True)
    ]
    order = [m.get("label") for m in results.metadata.get("models") or []]
    position = {label: i for i, label in enumerate(order)}
    ranking["trial"] = [position.get(label, len(position)) + 1 for label in ranking["label"]]
    return ranking, [c for c in tuned if c in ranking.columns], outcome.metric


def section(results: Results, table_html: Any, to_svg: Any) -> str:
    """The HTML of the tuning section ('' for results that are not a search's)."""
    found = candidates(results)
    if found is None:
        return ""
    ranking, tuned, metric = found
    higher = results.higher_is_better(metric)
    cols = ["rank", "label", *tuned, "mean", "std", "folds", "status"]
    shown = ranking[[c for c in cols if c in ranking.columns]].rename(
        columns={"mean": f"{metric} (mean)"}
    )
    body = table_html(shown, "tuning-table", {"status"})
    body = body.replace("<tr><td>1</td>", '<tr class="best-row"><td>1 ★</td>', 1)
    fig = tuning_figure(ranking, tuned, metric, higher)
    chart = ""
    if fig is not None:
        chart = (
            f'<figure class="chart" data-chart="tuning">{to_svg(fig, "tuning")}'
            f"<figcaption>{escape(metric)} of each candidate against each tuned parameter (★ "
            "best, hollow: pruned or unfinished); right: the best so far as the search went"
            "</figcaption></figure>"
        )
    return (
        '<section id="tuning"><h2>Tuning</h2>'
        f'<p class="note">{len(ranking)} candidates ranked by {escape(metric)} '
        f"({'higher' if higher else 'lower'} is better); the best is highlighted.</p>"
        f"{body}{chart}</section>"
    )


def tuning_figure(ranking: pd.DataFrame, tuned: list[str], metric: str, higher: bool):
    """One panel per tuned parameter (score against its value) and one of the best so far."""
    if ranking.empty:
        return None
    panels = len(tuned) + 1
    fig = Figure(figsize=(3.2 * panels, 2.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, panels))
    done = ranking["status"] == "complete"
    best = ranking.iloc[0]
    for ax, name in zip(axes, tuned, strict=False):
        values = pd.to_numeric(ranking[name], errors="coerce")
        if values.notna().any():
            x = values
        else:  # a categorical parameter: its choices in order
            codes = {v: i for i, v in enumerate(pd.unique(ranking[name].astype(str)))}
            x = ranking[name].astype(str).map(codes)
            ax.set_xticks(list(codes.values()), list(codes), fontsize=7)
        ax.scatter(x[done], ranking["mean"][done], s=18, color="#0969da")
        ax.scatter(x[~done], ranking["mean"][~done], s=18, facecolors="none", edgecolors="#888")
        ax.scatter([x.iloc[0]], [best["mean"]], s=120, marker="*", color="#1a7f37", zorder=3)
        positive = values.dropna()
        if len(positive) and (positive > 0).all() and positive.max() / positive.min() > 50:
            ax.set_xscale("log")
        ax.set_xlabel(name, fontsize=8)
        ax.set_ylabel(metric, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    ax = axes[-1]
    by_trial = ranking.sort_values("trial")
    scores = by_trial["mean"].where(by_trial["status"] == "complete")
    running = (scores.cummax() if higher else scores.cummin()).ffill()  # pruned: no new best
    ax.plot(by_trial["trial"], by_trial["mean"], ".", color="#bbb", label="candidate")
    ax.step(by_trial["trial"], running, where="post", color="#1a7f37", label="best so far")
    ax.set_xlabel("candidate (order tried)", fontsize=8)
    ax.set_ylabel(metric, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    finite = by_trial["mean"][np.isfinite(by_trial["mean"])]
    if len(finite) > 1 and not math.isclose(finite.min(), finite.max()):
        spread = finite.max() - finite.min()
        ax.set_ylim(finite.min() - 0.05 * spread, finite.max() + 0.05 * spread)
    return fig
