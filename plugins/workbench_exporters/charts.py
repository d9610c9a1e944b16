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
    stats = stats.reindex(list(results.models))  # a model without a value: a NaN mean
    stats["std"] = stats["std"].fillna(0.0)
    stats["count"] = stats["count"].fillna(0).astype(int)
    return stats


def zoomed_floor(low: np.ndarray, high: np.ndarray) -> float | None:
    """Where a bar chart's value axis should start when 0 would hide the differences (RMSE
    0.85 against 0.94): the bars' lowest extent minus a margin, when every value is positive
    and the spread is under a fifth of the largest value; None (start at 0) otherwise."""
    low, high = low[np.isfinite(low)], high[np.isfinite(high)]
    if not len(low) or low.min() <= 0:
        return None
    top, bottom = float(high.max()), float(low.min())
    if top <= 0 or (top - bottom) >= 0.2 * top:
        return None
    floor = bottom - 0.25 * max(top - bottom, 0.02 * top)
    return floor if floor > 0 else None


def metric_bars(results: Results, metric: str, colors: dict, best: str | None) -> Figure:
    """Mean per model with error bars of one standard deviation across folds. The value axis
    starts above 0 (and says so) when 0 would flatten the differences; models without a value
    (ranking-only models in a rating metric) get an "n/a" mark instead of an empty slot."""
    stats = _fold_stats(results, metric)
    n = len(stats)
    fig = Figure(figsize=(max(4.4, 0.34 * n + 1.2), 3.2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(n)
    means = stats["mean"].to_numpy(dtype=float)
    errs = stats["std"].to_numpy(dtype=float)
    folds = int(stats["count"].max()) if n else 0
    shown_errs = errs if folds > 1 else np.zeros_like(errs)
    floor = zoomed_floor(means - shown_errs, means + shown_errs) if n else None
    base = floor or 0.0
    bars = ax.bar(
        x,
        np.where(np.isnan(means), 0.0, means - base),
        bottom=base,
        yerr=errs if folds > 1 else None,
        capsize=4 if n <= 8 else 2,
        color=[colors.get(m, "grey") for m in stats.index],
        edgecolor=["black" if m == best else "none" for m in stats.index],
        linewidth=1.6,
        error_kw={"elinewidth": 1.0, "ecolor": "#333"},
    )
    crowded = n > 6  # upright labels would run into each other: turn them
    for rect, mean, err, model in zip(bars, means, shown_errs, stats.index, strict=True):
        centre = rect.get_x() + rect.get_width() / 2
        if math.isnan(mean):
            ax.annotate(
                "n/a", (centre, base), xytext=(0, 3), textcoords="offset points", ha="center",
                va="bottom", rotation=90 if crowded else 0, fontsize=6, color="#888",
            )  # fmt: skip
            continue
        label = f"{mean:.3f}" if abs(mean) < 100 else f"{mean:.0f}"
        ax.annotate(
            label + (" ★" if model == best else ""),
            (centre, mean + err),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            rotation=90 if crowded else 0,
            fontsize=7 if n <= 5 else 6,
        )
    arrow = "higher is better" if results.higher_is_better(metric) else "lower is better"
    ax.set_title(f"{metric}  ({arrow})", fontsize=10)
    ax.set_xticks(
        x,
        list(stats.index),
        rotation=30 if 3 < n <= 8 else (90 if n > 8 else 0),
        ha="right" if 3 < n <= 8 else "center",
        fontsize=8 if n <= 8 else 7,
    )
    ax.margins(y=0.25 if crowded else 0.15)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if floor is not None:
        top = float(np.nanmax(means + shown_errs))
        ax.set_ylim(floor, top + (0.35 if crowded else 0.2) * (top - floor))
        ax.spines["bottom"].set_linestyle((0, (4, 2)))  # a dashed base: not a zero line
        ax.set_title(f"{metric}  ({arrow})\naxis starts at {floor:.3g}, not 0", fontsize=10)
    ylabel = f"mean ± std ({folds} folds)" if folds > 1 else ""
    if floor is not None:
        ylabel = (ylabel + "; " if ylabel else "") + "zoomed axis"
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=8)
    return fig


def place_labels(
    points: list[tuple[float, float]],
    sizes: list[tuple[float, float]],
    bounds: tuple[float, float, float, float] | None = None,
) -> list[tuple[float, float]]:
    """Offsets (in points) for the labels of scatter points at display ``points`` (in points
    too), each label of ``sizes`` (width, height): the first of a ring of candidate places
    around its point that overlaps no label placed before, no point and stays inside
    ``bounds`` (x0, y0, x1, y1: the axes); the least-overlapping one when none does.
    Deterministic: the labels are placed in the order given."""
    placed: list[tuple[float, float, float, float]] = []
    marks = [(px - 4, py - 4, px + 4, py + 4) for px, py in points]
    offsets = []
    for (px, py), (w, h) in zip(points, sizes, strict=True):
        best, best_cost = (5.0, 4.0), math.inf
        for radius in (5.0, 12.0, 20.0, 30.0):
            for dx, dy in (
                (radius, radius * 0.6), (radius, -radius * 0.6 - h), (-radius - w, radius * 0.6),
                (-radius - w, -radius * 0.6 - h), (-w / 2, radius), (-w / 2, -radius - h),
                (radius, -h / 2), (-radius - w, -h / 2),
            ):  # fmt: skip
                box = (px + dx, py + dy, px + dx + w, py + dy + h)
                cost = sum(_overlap(box, other) for other in placed + marks)
                if bounds is not None:
                    cost += 4 * (w * h - _overlap(box, bounds))  # outside: over tick labels
                if cost < best_cost:
                    best, best_cost = (dx, dy), cost
                if cost == 0:
                    break
            if best_cost == 0:
                break
        dx, dy = best
        placed.append((px + dx, py + dy, px + dx + w, py + dy + h))
        offsets.append(best)
    return offsets


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0


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
    _label_points(fig, ax, models, fit.loc[models, "mean"], stats.loc[models, "mean"])
    return fig


def _label_points(fig: Figure, ax, names: list[str], xs: pd.Series, ys: pd.Series) -> None:
    """Name each point with a label placed where it overlaps no other label (`place_labels`),
    the crowded ones joined to their point by a thin line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # settles the layout, so data -> display is final
    to_points = 72.0 / fig.dpi
    fontsize = 9 if len(names) <= 8 else 7
    points = [
        tuple(v * to_points for v in ax.transData.transform((float(x), float(y))))
        for x, y in zip(xs, ys, strict=True)
    ]
    sizes = [(0.6 * fontsize * len(name), 1.2 * fontsize) for name in names]
    box = ax.get_window_extent()
    bounds = (box.x0 * to_points, box.y0 * to_points, box.x1 * to_points, box.y1 * to_points)
    offsets = place_labels(points, sizes, bounds)
    for name, (w, h), (dx, dy) in zip(names, sizes, offsets, strict=True):
        far = math.hypot(max(0.0, dx, -(dx + w)), max(0.0, dy, -(dy + h))) > 8
        ax.annotate(
            name,
            (float(xs[name]), float(ys[name])),
            xytext=(dx, dy),
            textcoords="offset points",
            fontsize=fontsize,
            ha="left",
            va="bottom",
            arrowprops={"arrowstyle": "-", "color": "#999", "lw": 0.5} if far else None,
        )


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
