"""``workbench tune MODEL``: grid, random or TPE search, cross-validated, ranked by one metric."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from workbench.api.runs import write_atomic
from workbench.cli.common import BACKEND_OPTION, SCHEDULER_OPTION, console, example, print_json
from workbench.cli.workflow import (
    backend_of,
    check_writable,
    config_value,
    default_run_dir,
    interrupted,
    located,
    note,
    print_frame,
    progress_bars,
    ranking_view,
)
from workbench.errors import ParamError


def tune(
    model: str | None = typer.Argument(
        None, help='Model name, with fixed parameters if any: "sgd n_epochs=10".'
    ),
    space: list[str] = typer.Option(
        [],
        "--space",
        "-p",
        help="Searched parameter, repeatable: n_factors=50,100 or "
        "lr=0.002:0.02:log (see docs/workflows.md).",
    ),
    metric: str | None = typer.Option(
        None,
        "--metric",
        help="Metric ranking the candidates (default: rmse for ratings, "
        "ndcg@10 for implicit data).",
    ),
    data: str | None = typer.Option(
        None, "--data", "-d", help="Dataset spec (default: synthetic)."
    ),
    split: str | None = typer.Option(
        None, "--split", "-s", help='Splitter spec (default: "kfold n_folds=3").'
    ),
    search: str | None = typer.Option(
        None,
        "--search",
        "--strategy",
        help="A registered search strategy (workbench strategies): grid, random or tpe "
        "(Optuna, optional: pip install 'recsys-workbench[optuna]'; prunes bad candidates "
        "fold by fold). Default: grid.",
    ),
    n_iter: int | None = typer.Option(
        None, "--n-iter", help="Candidates drawn by random or tpe search (default: 10)."
    ),
    outer: str | None = typer.Option(
        None,
        "--outer",
        help='Nested cross-validation: tune inside each training fold of this split ("kfold '
        'n_folds=5") and score each winner on its outer test fold (an honest score).',
    ),
    list_strategies: bool = typer.Option(
        False, "--strategies", help="List the search strategies and whether they can run here."
    ),
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="Parallel tasks (default: 1)."),
    backend: str | None = BACKEND_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
    run_dir: Path | None = typer.Option(
        None, "--run-dir", help="Run folder (default: runs/tune-DATE-TIME)."
    ),
    resume: bool = typer.Option(False, "--resume", help="Finish the search in --run-dir."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Also write the best parameters to this JSON file."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    as_json: bool = typer.Option(False, "--json", help="Print the ranking as JSON."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of split, search and models."),
    config: Path | None = typer.Option(None, "--config", "-c", help="TOML tuning file."),
) -> None:
    """Search a model's parameters; prints the ranking and the best parameters."""
    from workbench.api import load_dataset
    from workbench.api.runs import load_experiment, locate_param_error, resume_tune
    from workbench.api.runs import tune as run_tune
    from workbench.cli.workflow import report_data

    if list_strategies:
        _print_strategies(as_json)
        return
    doc = load_experiment(config, kind="tune") if config is not None else None
    folder_value = config_value(doc, "run_dir", run_dir)
    if resume and folder_value is None:
        raise ParamError("--resume needs --run-dir (the folder of the search to finish)")
    if output is not None:
        check_writable(output, "best parameters file")
    n_jobs = int(config_value(doc, "jobs", jobs, 1))
    where = backend_of(doc, backend, scheduler)
    progress = None if quiet or as_json else progress_bars("tune")
    if resume and model is None and doc is None:
        folder = Path(folder_value)
        if (folder / "nested.json").exists():
            raise ParamError(
                f"{folder} holds a nested search: resume it with the same arguments and --resume"
            )
        try:
            outcome = resume_tune(folder, jobs=n_jobs, progress=progress, backend=where)
        except KeyboardInterrupt:
            interrupted(folder, "tune")
    else:
        model_spec = config_value(doc, "model", model)
        if model_spec is None:
            raise ParamError("give the model to tune: workbench tune NAME --space name=values")
        dims = config_value(doc, "space", space or None)
        if not dims:
            raise ParamError(
                "give the parameters to search: --space n_factors=50,100 --space lr=0.002:0.02:log"
            )
        data_spec = config_value(doc, "data", data)  # None: the default dataset
        dataset = located(doc, ("data",), lambda: load_dataset(data_spec))
        report_data(dataset, quiet=quiet or as_json)
        folder = Path(folder_value) if folder_value is not None else default_run_dir("tune")
        check_writable(folder, "run folder")

        def search_args() -> tuple[tuple[Any, ...], dict[str, Any]]:
            """The arguments a plain and a nested search share (read inside their ``try``,
            so a bad value is reported like any other search error)."""
            positional = (
                dataset,
                config_value(doc, "split", split),  # None: the plugins' search split
                model_spec,
                dims,
                config_value(doc, "metric", metric),  # None: the default for the data
            )
            options = {
                "search": config_value(doc, "search", search, "grid"),
                "n_iter": int(config_value(doc, "n_iter", n_iter, 10)),
                "seed": int(config_value(doc, "seed", seed, 0)),
                "jobs": n_jobs,
                "run_dir": folder,
                "resume": resume,
                "progress": progress,
                "protocol": config_value(doc, "protocol", None),
            }
            return positional, options

        if outer is not None:
            from workbench.api.runs import nested_tune

            try:
                args, options = search_args()
                nested = nested_tune(*args, outer=outer, **options)
            except KeyboardInterrupt:
                interrupted(folder, finish="the same workbench tune command with --resume")
            _report_nested(nested, folder, quiet, as_json, print_frame, note)
            return
        try:
            args, options = search_args()
            outcome = run_tune(*args, backend=where, **options)
        except ParamError as exc:
            if doc is None:
                raise
            space_keys = doc.values.get("space") or {}
            named = [k for k in space_keys if f"'{k}'" in str(exc)]
            key = (
                ("space",) if named or not isinstance(doc.values.get("model"), dict) else ("model",)
            )
            raise locate_param_error(doc, key, exc) from None
        except KeyboardInterrupt:
            interrupted(folder, "tune")
    _report(outcome, folder, output, quiet, as_json, print_frame, note)


def _report(
    outcome: Any,
    folder: Path,
    output: Path | None,
    quiet: bool,
    as_json: bool,
    print_frame: Any,
    note: Any,
) -> None:

    best = {
        "metric": outcome.metric,
        "mean": outcome.best_score,
        "label": outcome.best_label,
        "params": outcome.best_params,
    }
    if output is not None:
        text = json.dumps(best, indent=2, default=str) + "\n"
        write_atomic(output, lambda fh: fh.write(text.encode("utf-8")))
    if as_json:
        ranking = json.loads(outcome.ranking.to_json(orient="records"))
        print_json({"best": best, "ranking": ranking, "run_dir": str(folder)})
        return

    print_frame(
        ranking_view(outcome.ranking),
        title=f"Candidates ranked by {outcome.metric} (mean over folds)",
    )
    params = " ".join(f"{k}={v}" for k, v in outcome.best_params.items())

    console.print(f"best: {outcome.best_label}  {outcome.metric} = {outcome.best_score:.4g}")
    console.print(f"best params: {params}")
    if not quiet:
        note(f"saved {folder / 'best.json'}" + (f" and {output}" if output else ""))
        note(f"results kept in {folder}; export: workbench report {folder} --export ...")


def _report_nested(
    nested: Any, folder: Path, quiet: bool, as_json: bool, print_frame: Any, note: Any
) -> None:
    if as_json:
        print_json({**nested.as_dict(), "run_dir": str(folder)})
        return
    from workbench.cli.common import console

    view = nested.folds.rename(
        columns={"inner_best": f"inner best {nested.metric}", "outer": f"outer {nested.metric}"}
    )
    print_frame(view, title="Nested cross-validation: one search per outer training fold")
    d = nested.as_dict()
    console.print(
        f"nested CV: {nested.metric} = {d['outer_mean']:.4g} ± {d['outer_std']:.4g} on the "
        f"outer test folds (the honest score); mean inner best = {d['inner_best_mean']:.4g}"
    )
    if not quiet:
        note(f"saved {folder / 'nested.json'}; each search kept in {folder}/inner-K")


def _print_strategies(as_json: bool) -> None:
    import pandas as pd
    from rich.markup import escape

    from workbench.api.runs import strategies, unavailable_plugins

    rows = strategies()
    if as_json:
        print_json(rows)
        return
    table = pd.DataFrame(
        {
            "strategy": [r["name"] for r in rows],
            "status": ["ok" if r["available"] else "unavailable" for r in rows],
            "install": [escape(r["hint"] or "") for r in rows],
        }
    )
    print_frame(table, title="Search strategies")
    for plugin, why in unavailable_plugins().items():
        note(f"plugin '{plugin}' is unavailable (its strategies, if any, are not listed): {why}")


def register(app: typer.Typer) -> None:
    app.command(
        "tune",
        epilog=example(
            "workbench tune sgd --space n_factors=10,50,100 --space lr=0.002:0.02:log "
            "--metric rmse --data synthetic",
            'workbench tune "sgd n_epochs=20" -p reg=0.005:0.1:log -p n_factors=10:200 '
            "--search random --n-iter 12 --jobs 2 -o best.json",
            "workbench tune sgd -p lr=0.002:0.05:log -p reg=0.005:0.1:log --strategy tpe "
            "--n-iter 20 --run-dir runs/tpe",
            "workbench tune --config examples/experiments/tune-sgd.toml",
            'workbench tune sgd -p reg=0.01,0.05 --split "kfold n_folds=3" '
            '--outer "kfold n_folds=5"',
        ),
    )(tune)
