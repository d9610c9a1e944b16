"""``latex``: results as a booktabs table for a paper (mean ± std over folds, best in bold)."""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import Field

from workbench import Exporter, Params, Results, WorkbenchError
from workbench.fileio.files import write_atomic

_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    return "".join(_ESCAPES.get(ch, ch) for ch in str(text))


class LatexTable(Exporter):
    """A LaTeX table (booktabs): one row per model, one column per metric, mean ± std over
    folds, the best mean of each metric in bold (lower or higher, as the metric says).

    Needs ``\\usepackage{booktabs}`` in the document; `render` returns the source as a string.
    """

    name = "latex"
    extension = ".tex"

    class Params(Params):
        path: str | None = Field(
            None,
            description="file to write (a folder: results.tex inside it); default: results.tex "
            "in the run folder, else the current folder",
        )
        precision: int = Field(4, ge=0, le=10, description="digits after the decimal point")
        caption: str | None = Field(None, description="table caption")
        label: str | None = Field(None, description="\\label of the table, e.g. tab:results")
        timings: bool = Field(False, description="add the mean fit and predict seconds")

    def render(self, results: Results) -> str:
        """The LaTeX source of the table."""
        p = self.params
        summary = results.summary()
        metrics = list(results.metric_labels)
        if p.timings:
            metrics += [c for c in ("fit_seconds", "predict_seconds") if (c, "mean") in summary]
        many_folds = results.scores["fold"].nunique() > 1
        best = {m: self._best(summary, results, m) for m in metrics}
        lines = [
            r"\begin{table}[ht]",
            r"\centering",
            r"\begin{tabular}{l" + "r" * len(metrics) + "}",
            r"\toprule",
            " & ".join(["Model", *(self._heading(results, m) for m in metrics)]) + r" \\",
            r"\midrule",
        ]
        for model in summary.index:
            cells = [escape(model)]
            for m in metrics:
                mean, std = summary.loc[model, (m, "mean")], summary.loc[model, (m, "std")]
                cells.append(self._cell(mean, std, many_folds, bold=model in best[m]))
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        if p.caption:
            lines.append(rf"\caption{{{escape(p.caption)}}}")
        if p.label:
            lines.append(rf"\label{{{p.label}}}")
        lines.append(r"\end{table}")
        return "\n".join(lines) + "\n"

    def export(self, results: Results, path: Path | None = None) -> Path:
        """Write the table: to ``path``, else the ``path`` parameter, else ``results.tex`` in
        the run folder (or the current folder); a folder gets ``results.tex`` inside."""
        chosen = path if path is not None else self.params.path
        if chosen is None:
            target = Path(results.metadata.get("run_dir") or ".") / "results.tex"
        else:
            target = Path(chosen)
            if target.is_dir() or str(chosen).endswith(("/", "\\")):
                target = target / "results.tex"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkbenchError(f"cannot write {target}: {exc.strerror or exc}") from None
        text = self.render(results)
        return write_atomic(target, lambda fh: fh.write(text.encode("utf-8")))

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _heading(results: Results, metric: str) -> str:
        """The column heading (LaTeX), with the metric's better direction."""
        if metric.endswith("_seconds"):
            return escape(metric.replace("_seconds", "")) + " (s)"
        arrow = r"$\uparrow$" if results.higher_is_better(metric) else r"$\downarrow$"
        return f"{escape(metric)} {arrow}"

    @staticmethod
    def _best(summary, results: Results, metric: str) -> set[str]:
        if metric.endswith("_seconds"):
            return set()
        means = summary[(metric, "mean")].dropna()
        if means.empty:
            return set()
        target = means.max() if results.higher_is_better(metric) else means.min()
        return set(means.index[means == target])

    def _cell(self, mean: float, std: float, many_folds: bool, *, bold: bool) -> str:
        if mean is None or (isinstance(mean, float) and math.isnan(mean)):
            return "--"
        digits = self.params.precision
        text = f"{mean:.{digits}f}"
        if bold:
            text = rf"\mathbf{{{text}}}"
        if many_folds:
            text += rf" \pm {std:.{digits}f}"
        return f"${text}$"
