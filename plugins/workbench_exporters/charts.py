"""Charts of the HTML report, drawn with matplotlib (no pyplot state) and inlined as SVG."""

from __future__ import annotations

import io
import math
import re

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from workbench.results import Results

CURVE_INFO = {"model", "fold", "epoch", "n_epochs", "loss", "seconds"}


def model_colors(models: list[str]) -> dict[str, tuple[float, ...]]:
    """A stable colour per model (tab10, in the order the models were run)."""
    cmap = matplotlib.colormaps["tab10"]
    return {m: cmap(i % 10) for i, m in enumerate(models)}


def to_svg(fig: Figure, salt: str) -> str:
    """The figure as an inline ``<svg>`` element: text kept as text, ids unique per chart,
    no timestamp (so the same results give the same file)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    start = text.find("<svg")
    svg = text[start:] if start >= 0 else text
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = _prefix_ids(svg, salt)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{salt}" ', 1)


def _prefix_ids(svg: str, prefix: str) -> str:
    """Give every id (and reference to it) a per-chart prefix: several matplotlib SVGs in one
    page would otherwise repeat ids such as ``figure_1``."""
    ids = set(re.findall(r'\sid="([^"]+)"', svg))
    if not ids:
        return svg

    def fix(match: re.Match[str]) -> str:
        name = match.group(2)
        return f"{match.group(1)}{prefix}-{name}{match.group(3)}" if name in ids else match.group(0)

    svg = re.sub(r'(\sid=")([^"]+)(")', fix, svg)
    svg = re.sub(r"(url\(#)([^)]+)(\))", fix, svg)
    return re.sub(r'(href="#)([^"]+)(")', fix, svg)


def _fold_stats(results: Results, metric: str) -> pd.DataFrame:
    sub = results.scores[results.scores["metric"] == metric]
    stats = sub.groupby("model", sort=False)["value"].agg(["mean", "std", "count"])
    stats["std"] = stats["std"].fillna(0.0)
    return stats.reindex([m for m in results.models if m in stats.index])


def metric_bars(results: Results, metric: str, colors: dict, best: str | None) -> Figure:
    """Mean per model with error bars of one standard deviation across folds."""
    stats = _fold_stats(results, metric)
    n = len(stats)
    fig = Figure(figsize=(4.4, 3.2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(n)
    means = stats["mean"].to_numpy(dtype=float)
    errs = stats["std"].to_numpy(dtype=float)
    folds = int(stats["count"].max()) if n else 0
    bars = ax.bar(
        x,
        np.nan_to_num(means),
        yerr=errs if folds > 1 else None,
        capsize=4,
        color=[colors.get(m, "grey") for m in stats.index],
        edgecolor=["black" if m == best else "none" for m in stats.index],
        linewidth=1.6,
        error_kw={"elinewidth": 1.0, "ecolor": "#333"},
    )
    for rect, mean, model in zip(bars, means, stats.index, strict=True):
        if math.isnan(mean):
            continue
        label = f"{mean:.3f}" if abs(mean) < 100 else f"{mean:.0f}"
        ax.annotate(
            label + (" ★" if model == best else ""),
            (rect.get_x() + rect.get_width() / 2, rect.get_height()),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7 if n <= 5 else 6,
        )
    arrow = "higher is better" if results.higher_is_better(metric) else "lower is better"
    ax.set_title(f"{metric}  ({arrow})", fontsize=10)
    ax.set_xticks(
        x,
        list(stats.index),
        rotation=30 if n > 3 else 0,
        ha="right" if n > 3 else "center",
        fontsize=8,
    )
    ax.margins(y=0.15)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if folds > 1:
        ax.set_ylabel(f"mean ± std ({folds} folds)", fontsize=8)
    return fig


def accuracy_vs_time(results: Results, metric: str, colors: dict) -> Figure | None:
    """Each model's mean ``metric`` against its mean fit time (error bars across folds)."""
    runs = results.runs
    if runs.empty or "fit_seconds" not in runs.columns:
        return None
    fit = runs.groupby("model", sort=False)["fit_seconds"].agg(["mean", "std"]).fillna(0.0)
    stats = _fold_stats(results, metric)
    models = [m for m in stats.index if m in fit.index and not math.isnan(stats.loc[m, "mean"])]
    if not models:
        return None
    fig = Figure(figsize=(4.4, 3.2), layout="constrained")
    ax = fig.subplots()
    for m in models:
        ax.errorbar(
            fit.loc[m, "mean"],
            stats.loc[m, "mean"],
            xerr=fit.loc[m, "std"] or None,
            yerr=stats.loc[m, "std"] or None,
            fmt="o",
            markersize=7,
            color=colors.get(m, "grey"),
            capsize=3,
        )
        ax.annotate(
            m,
            (fit.loc[m, "mean"], stats.loc[m, "mean"]),
            xytext=(5, 4),
            textcoords="offset points",
            fontsize=9,
        )
    times = fit.loc[models, "mean"].to_numpy(dtype=float)
    positive = times[times > 0]
    if len(positive) == len(times) and positive.max() / positive.min() > 20:
        ax.set_xscale("log")
    ax.set_xlabel("fit time per fold (s)")
    arrow = "↑" if results.higher_is_better(metric) else "↓"
    ax.set_ylabel(f"{metric} {arrow}")
    ax.set_title(f"{metric} vs fit time", fontsize=10)
    ax.grid(alpha=0.3)
    ax.margins(0.15)
    return fig


def validation_columns(curves: pd.DataFrame) -> list[str]:
    return [
        c
        for c in curves.columns
        if c not in CURVE_INFO
        and pd.api.types.is_numeric_dtype(curves[c])
        and curves[c].notna().any()
    ]


def learning_curves(results: Results, colors: dict) -> Figure | None:
    """One panel per model: training loss per epoch (mean over folds, range shaded) and, on
    a second axis, each validation metric per epoch."""
    curves = results.curves
    if curves.empty or "epoch" not in curves.columns:
        return None
    models = [m for m in results.models if m in set(curves["model"])]
    if not models:
        return None
    val_cols = validation_columns(curves)
    cols = min(len(models), 3)
    rows = math.ceil(len(models) / cols)
    fig = Figure(figsize=(4.6 * cols, 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    styles = ["--", ":", "-."]
    for ax, model in zip(axes, models, strict=False):
        sub = curves[curves["model"] == model]
        color = colors.get(model, "grey")
        handles = []
        if "loss" in sub.columns and sub["loss"].notna().any():
            g = sub.groupby("epoch")["loss"].agg(["mean", "min", "max"])
            (line,) = ax.plot(g.index, g["mean"], color=color, marker=".", label="loss")
            if sub["fold"].nunique() > 1:
                ax.fill_between(g.index, g["min"], g["max"], color=color, alpha=0.15)
            handles.append(line)
            ax.set_ylabel("training loss", fontsize=8)
        if val_cols:
            twin = ax.twinx()
            for i, col in enumerate(val_cols):
                g = sub.groupby("epoch")[col].mean().dropna()
                if g.empty:
                    continue
                (line,) = twin.plot(
                    g.index,
                    g.to_numpy(),
                    color="#444",
                    linestyle=styles[i % 3],
                    marker="x",
                    markersize=4,
                    label=f"validation {col}",
                )
                handles.append(line)
            twin.tick_params(labelsize=7)
        ax.set_title(model, fontsize=10)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if handles:
            ax.legend(handles=handles, fontsize=7, loc="best")
    for ax in axes[len(models) :]:
        ax.set_visible(False)
    return fig
