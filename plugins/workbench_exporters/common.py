"""What every exporter shares: the mean ± std table, the best model per metric, number
formatting, where files go, and the environment recorded with an export."""

from __future__ import annotations

import math
import platform
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field

from workbench.errors import WorkbenchError
from workbench.fileio.files import write_atomic
from workbench.jsonvalues import strict
from workbench.params import Params
from workbench.results import Results

TIMING = {"fit_seconds": "fit s", "predict_seconds": "predict s"}


class FileParams(Params):
    path: str | None = Field(
        None,
        description="file to write (a folder: results.<ext> inside it); default: "
        "results.<ext> in the run folder, else the current folder",
    )


def number(value: Any, digits: int = 4) -> str:
    """A readable number: 4 decimals below 10, 2 below 1000, thousands separators above."""
    if value is None:
        return "-"
    value = float(value)
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.2f}"
    return f"{value:.{digits}f}"


def mean_std(mean: Any, std: Any, n_folds: int, sep: str = " ± ") -> str:
    """``0.9123 ± 0.0041`` (just the mean for a single fold)."""
    text = number(mean)
    if n_folds > 1 and std is not None and not math.isnan(float(std)) and text != "-":
        text += sep + number(std)
    return text


@dataclass
class Cell:
    mean: float
    std: float
    best: bool
    #: Folds with a value (None: every fold).
    count: int | None = None


@dataclass
class Table:
    """Mean ± std per model (rows) and metric/timing (columns), best flagged per metric."""

    models: list[str]
    metrics: list[str]
    timings: list[str]
    cells: dict[tuple[str, str], Cell]
    n_folds: dict[str, int]
    higher_is_better: dict[str, bool]
    #: (model, metric, fold, reason) of every fold without a value.
    missing: list[dict[str, Any]] = field(default_factory=list)

    @property
    def max_folds(self) -> int:
        return max(self.n_folds.values(), default=1)

    def folds_of(self, model: str, column: str) -> int:
        """Folds the cell's mean covers."""
        cell = self.cells.get((model, column))
        total = self.n_folds.get(model, 1)
        return total if cell is None or cell.count is None else cell.count

    def text(self, model: str, column: str, sep: str = " ± ") -> str:
        """``mean ± std`` of a metric (``(1 of 3 folds)`` when some folds have no value);
        just the mean of a timing."""
        cell = self.cells.get((model, column))
        if cell is None:
            return "-"
        if column in TIMING:
            return number(cell.mean)
        covered, total = self.folds_of(model, column), self.n_folds.get(model, 1)
        text = mean_std(cell.mean, cell.std, covered, sep)
        if covered < total and text != "-":
            text += f" ({covered} of {total} folds)"
        return text

    def missing_notes(self) -> list[str]:
        """One line per (model, reason, folds) without a value, naming its metrics."""
        folds_of: dict[tuple[str, str, str], list[int]] = {}
        for m in self.missing:
            key = (m["metric"], m["model"], m["reason"])
            folds_of.setdefault(key, []).append(int(m["fold"]))
        groups: dict[tuple[str, str, tuple[int, ...]], list[str]] = {}
        for (metric, model, reason), folds in folds_of.items():
            groups.setdefault((model, reason, tuple(sorted(folds))), []).append(metric)
        lines = []
        for (model, reason, folds), metrics in groups.items():
            shown = ", ".join(str(f) for f in folds)  # as stored: results.jsonl counts from 0
            word = "fold" if len(folds) == 1 else "folds"
            lines.append(f"{', '.join(metrics)} of {model}: no value on {word} {shown}: {reason}")
        return lines

    def arrow(self, metric: str) -> str:
        return "↑" if self.higher_is_better.get(metric, True) else "↓"


def build_table(results: Results) -> Table:
    """The summary of ``results`` with the best mean per metric flagged."""
    summary = results.summary()
    models = results.models
    metrics = results.metric_labels
    timings = [c for c in TIMING if not summary.empty and (c, "mean") in summary.columns]
    folds = results.scores.groupby("model")["fold"].nunique().to_dict()
    counts = results.fold_counts()
    if not results.runs.empty:
        run_folds = results.runs.groupby("model")["fold"].nunique().to_dict()
        folds = {m: max(folds.get(m, 0), run_folds.get(m, 0)) for m in models}
    cells: dict[tuple[str, str], Cell] = {}
    hib = {m: results.higher_is_better(m) for m in metrics}
    for column in metrics + timings:
        if summary.empty or (column, "mean") not in summary.columns:
            continue
        means = pd.to_numeric(summary[(column, "mean")], errors="coerce")
        stds = pd.to_numeric(summary[(column, "std")], errors="coerce")
        finite = means.dropna()
        best_value = None
        if column in hib and len(finite) > 1:
            best_value = finite.max() if hib[column] else finite.min()
        for model in summary.index:
            mean = float(means[model])
            count = None
            if column in metrics and not counts.empty and column in counts.columns:
                count = int(counts.loc[model, column]) if model in counts.index else 0
            cells[(model, column)] = Cell(
                mean=mean,
                std=float(stds[model]),
                best=best_value is not None and not math.isnan(mean) and mean == best_value,
                count=count,
            )
    n_folds = {m: int(folds.get(m, 1)) for m in models}
    return Table(models, metrics, timings, cells, n_folds, hib, results.missing_folds())


def dataset_size(dataset: Any) -> str | None:
    """The size line, e.g. "943 users × 1,682 items · 100,000 interactions · density 6.30%",
    from the run's dataset metadata (None when the counts were not recorded)."""
    if not isinstance(dataset, dict):
        return None
    try:
        users, items = int(dataset["n_users"]), int(dataset["n_items"])
        n = int(dataset["n_interactions"])
    except (KeyError, TypeError, ValueError):
        return None
    density = f" · density {100 * n / (users * items):.2f}%" if users and items else ""
    return f"{users:,} users × {items:,} items · {n:,} interactions{density}"


def describe_run(results: Results) -> list[tuple[str, str]]:
    """Short (label, text) facts about the run for headers: data, split, protocol, seed."""
    meta = results.metadata
    facts: list[tuple[str, str]] = []
    dataset = meta.get("dataset")
    steps = dataset.get("preparation") if isinstance(dataset, dict) else None
    if isinstance(dataset, dict):
        dataset = dataset.get("name") or dataset.get("spec")
    if dataset:
        facts.append(("dataset", str(dataset)))
    size = dataset_size(meta.get("dataset"))
    if size:
        facts.append(("size", size))
    if isinstance(steps, list) and steps:  # what the dataset's preparation did (k-core, ...)
        facts.append(("data preparation", "; ".join(_step_text(s) for s in steps)))
    splitter = meta.get("splitter")
    if isinstance(splitter, dict):
        splitter = splitter.get("spec") or splitter.get("name")
    if splitter:
        facts.append(("split", str(splitter)))
    folds = results.scores["fold"].nunique() if not results.scores.empty else 0
    if folds:
        facts.append(("folds", str(folds)))
    protocol = meta.get("protocol")
    if isinstance(protocol, dict):
        bits = []
        threshold = protocol.get("relevance_threshold")
        if threshold is None and "relevance_threshold" in results.runs.columns:
            used = results.runs["relevance_threshold"].dropna().unique()
            threshold = used[0] if len(used) == 1 else None
        if threshold is not None:
            bits.append(f"relevant: rating >= {float(threshold):g}")
        if protocol.get("candidates"):  # sampled negatives: labelled, never silently
            sampled = "SAMPLED ranking metrics: " if protocol.get("negatives") else "ranked: "
            bits.append(sampled + str(protocol["candidates"]))
        if protocol.get("clip") is not None:
            bits.append("clipped" if protocol["clip"] else "unclipped")
        if bits:
            facts.append(("protocol", "; ".join(bits)))
    if meta.get("seed") is not None:
        facts.append(("seed", str(meta["seed"])))
    return facts


def _step_text(step: Any) -> str:
    """One preparation step as text: ``k-core k=5: 1,000 rows, 90 users, 80 items``."""
    if not isinstance(step, dict):
        return str(step)
    counts = ("rows", "users", "items")
    options = " ".join(f"{k}={v}" for k, v in step.items()
                       if k not in ("step", *counts) and v is not None)  # fmt: skip
    left = ", ".join(f"{step[k]:,} {k}" for k in counts if isinstance(step.get(k), int))
    return f"{step.get('step', '?')} {options}".strip() + (f": {left}" if left else "")


def environment() -> dict[str, str]:
    """Versions of Python and the main libraries (recorded with JSON/HTML exports)."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("recsys-workbench", "numpy", "scipy", "pandas", "scikit-learn", "matplotlib"):
        try:
            out[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


def output_path(path: Path | str | None, param: str | None, results: Results, ext: str) -> Path:
    """Where a file exporter writes: the argument, else the ``path`` parameter, else
    ``results.<ext>`` in the run folder (``metadata["run_dir"]``) or the current folder.
    Missing parent folders are created."""
    chosen = path if path is not None else param
    if chosen is None:
        folder = results.metadata.get("run_dir") or "."
        target = Path(folder) / f"results{ext}"
    else:
        target = Path(chosen)
        if target.is_dir() or str(chosen).endswith(("/", "\\")):
            target = target / f"results{ext}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkbenchError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def jsonable(value: Any) -> Any:
    """Plain JSON values: NaN/inf -> None, numpy scalars and arrays, tuples, sets, paths."""
    return strict(value)


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` atomically (`write_atomic` applies the user's umask)."""
    return write_atomic(path, lambda fh: fh.write(text.encode("utf-8")))
