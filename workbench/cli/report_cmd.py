"""``workbench report`` (re-export a run folder) and ``workbench analyse`` (by user activity)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from workbench.cli.common import console, example, print_json
from workbench.cli.workflow import (
    build_exporters,
    check_writable,
    note,
    print_frame,
    print_significance,
    ranking_view,
    run_exports,
)
from workbench.errors import DataError, ParamError

RUN_DIR = typer.Argument(..., help="A run folder written by `workbench compare` or `tune`.")


def report(
    run_dir: Path = RUN_DIR,
    export: list[str] = typer.Option(
        [],
        "--export",
        "-e",
        help='Exporter spec, repeatable (default: terminal), e.g. "html path=r.html".',
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    adjust: str | None = typer.Option(
        None,
        "--adjust",
        help="Adjust the per-user tests' p-values over all pairs with holm (the run's "
        "default) or fdr_bh (Benjamini-Hochberg).",
    ),
) -> None:
    """Report a run again from its folder (finished results only), without retraining."""
    from workbench.api.runs import load_run

    exporters = build_exporters(export or None)
    if (run_dir / "nested.json").exists() and not (run_dir / "metadata.json").exists():
        from workbench.cli.nested_report import report_nested

        return report_nested(run_dir, exporters, as_json)
    results = load_run(run_dir)
    if adjust is not None:
        from workbench.api.statistics import readjust

        results = readjust(results, adjust)
    meta = results.metadata
    if results.scores.empty:
        raise DataError(f"{run_dir} holds no finished results yet")
    written = run_exports(results, exporters, json_mode=as_json)
    if as_json:
        payload = results.to_dict()
        payload["files"] = [str(p) for p in written]
        print_json(payload)
        return
    print_significance(results)
    if meta.get("kind") == "tune":
        from workbench.api.runs import TuneResult

        outcome = TuneResult.from_results(results)

        print_frame(ranking_view(outcome.ranking), title=f"Candidates ranked by {outcome.metric}")
    n_splits = int((meta.get("splitter") or {}).get("n_splits") or 0)
    expected = len(meta.get("models", [])) * n_splits
    for cut in (meta.get("pruned") or {}).values():  # a pruned candidate's folds never run
        expected -= max(0, n_splits - int(cut.get("after_fold", 0)) - 1)
    done = len(results.runs)
    if expected and done < expected:
        note(
            f"{done} of {expected} (model, fold) results are finished; finish the run with: "
            f"workbench {meta.get('kind', 'compare')} --resume --run-dir {run_dir}"
        )
    for path in written:
        note(f"wrote {path}")


def _bins(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        bins = tuple(int(b) for b in text.split(",") if b.strip())
    except ValueError:
        raise ParamError(
            f"--bins {text!r}: expected increasing integers, e.g. 0,1,5,20,100"
        ) from None
    if not bins:
        raise ParamError("--bins: give at least one lower edge, e.g. 0,1,5,20,100")
    return bins


def analyse(
    run_dir: Path = RUN_DIR,
    bins: str | None = typer.Option(
        None,
        "--bins",
        help="Lower edges of the activity buckets (default: 0,1,5,10,20,50,100,200,500).",
    ),
    metric: list[str] = typer.Option(
        [], "--metric", help="Columns to show/plot (default: all), repeatable."
    ),
    plot: Path | None = typer.Option(None, "--plot", help="Also draw the table to this image."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Performance and coverage by how many train interactions users have (a run made with
    --per-user)."""
    from workbench.api import activity

    if plot is not None:
        check_writable(plot, "plot")
    table = activity(run_dir, _bins(bins))
    if metric:
        missing = [m for m in metric if m not in table.columns]
        if missing:
            shown = ", ".join(c for c in table.columns if c not in ("model", "bucket"))
            raise ParamError(f"no column '{missing[0]}' in the activity table (columns: {shown})")
        keep = ["model", "bucket", "min_train", "max_train", "users", *metric]
        table = table[[c for c in keep if c in table.columns]]
    if plot is not None:
        from workbench.api.inputs import plot_activity

        fig = plot_activity(table, metric)
        fig.savefig(plot, dpi=120)
    if as_json:
        print_json(json.loads(table.to_json(orient="records")))
        return
    print_frame(table, title="By user activity: train interactions per user")
    console.print(
        "users: test users per bucket (mean over folds); metrics: mean over the bucket's users",
        markup=False,
    )
    if plot is not None:
        note(f"wrote {plot}")


def register(app: typer.Typer) -> None:
    app.command(
        "report",
        epilog=example(
            "workbench report runs/compare-20250101-120000",
            'workbench report runs/compare-20250101-120000 --export "html path=report.html" '
            "--export csv",
        ),
    )(report)
    app.command(
        "analyse",
        epilog=example(
            "workbench compare --data synthetic -m sgd -m popularity --per-user --run-dir runs/a",
            "workbench analyse runs/a --bins 0,5,20,50 --plot activity.png",
        ),
    )(analyse)
