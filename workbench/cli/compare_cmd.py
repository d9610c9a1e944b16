"""``workbench compare``: several models, one dataset and split, several metrics and exports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from workbench.cli.common import BACKEND_OPTION, SCHEDULER_OPTION, example, print_json
from workbench.cli.workflow import (
    backend_of,
    build_exporters,
    check_writable,
    config_value,
    default_run_dir,
    interrupted,
    located,
    note,
    print_significance,
    progress_bars,
    run_exports,
    warn,
)
from workbench.errors import ParamError, WorkbenchError


def _all_models(data: Any, quiet: bool = False) -> list[str]:
    from workbench.api import models_for

    choice = models_for(data)
    kind = data if isinstance(data, str) else data.kind
    if not quiet:
        for name in choice.skipped:
            note(f"skipping model '{name}': it cannot learn from {kind} feedback")
        for name, service in choice.services.items():
            note(f"skipping model '{name}': it needs {service} (name it with --model to run it)")
        for name, missing in choice.unfit.items():
            note(f"skipping model '{name}': it needs {missing}")
    return choice.names


def _model_items(
    doc: Any, cli_models: list[str], all_models: bool, data: Any, quiet: bool = False
) -> list[Any]:
    from workbench.api.runs import resolve_models

    if cli_models or all_models:
        items: list[Any] = list(_all_models(data, quiet) if all_models else [])
        items += cli_models
        return resolve_models(items)
    models = (doc.values.get("models") if doc is not None else None) or []
    if not models:
        raise ParamError(
            "no models: give --model NAME (repeatable; see `workbench models`) or --all-models"
        )
    for i, table in enumerate(models):  # each table alone first, so an error names its line
        located(doc, ("models", i), lambda t=table: resolve_models([t]))
    return resolve_models(models)


def compare(
    data: str | None = typer.Option(
        None,
        "--data",
        "-d",
        help='Dataset spec, e.g. "movielens variant=100k" (default: synthetic, or the '
        "default dataset a plugin declares).",
    ),
    split: str | None = typer.Option(
        None, "--split", "-s", help='Splitter spec (default: "kfold n_folds=5").'
    ),
    model: list[str] = typer.Option(
        [], "--model", "-m", help='Model spec, repeatable: "sgd n_factors=50 label=sgd-50".'
    ),
    all_models: bool = typer.Option(
        False, "--all-models", help="Every registered model with its default parameters."
    ),
    metric: list[str] = typer.Option(
        [], "--metric", help="Metric spec, repeatable (default: by data kind), e.g. ndcg@10."
    ),
    export: list[str] = typer.Option(
        [],
        "--export",
        "-e",
        help='Exporter spec, repeatable (default: terminal), e.g. "html path=r.html".',
    ),
    relevance_threshold: float | None = typer.Option(
        None, "--relevance-threshold", help="Ratings at or above are relevant (explicit data)."
    ),
    jobs: int | None = typer.Option(
        None, "--jobs", "-j", help="Parallel (model, fold) tasks; -1: every core (default: 1)."
    ),
    backend: str | None = BACKEND_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
    run_dir: Path | None = typer.Option(
        None, "--run-dir", help="Run folder (default: runs/compare-DATE-TIME)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Finish the run in --run-dir (alone: with its own settings)."
    ),
    validate: bool = typer.Option(
        False,
        "--validate",
        help="Give models each fold's test set as validation data "
        "(learning curves with validation metrics).",
    ),
    per_user: bool = typer.Option(
        True,
        "--per-user/--no-per-user",
        help="Keep per-user results (per-user tests, intervals, the by-activity table).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or notes."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
    seed: int | None = typer.Option(
        None, "--seed", help="Seed of the split and the models (default: 0)."
    ),
    seeds: str | None = typer.Option(
        None,
        "--seeds",
        help="Train each seeded model with N seeds (3) or these seeds (1,2,3) on the same "
        "split: seed variance is reported apart from fold variance.",
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="TOML experiment file (CLI options override it)."
    ),
) -> None:
    """Compare models over the folds of one split: a table, paired tests and exports."""
    from workbench.api.runs import load_experiment

    doc = load_experiment(config, kind="compare") if config is not None else None
    folder = config_value(doc, "run_dir", run_dir)
    if resume and folder is None:
        raise ParamError("--resume needs --run-dir (the folder of the run to finish)")
    n_jobs = int(config_value(doc, "jobs", jobs, 1))
    where = backend_of(doc, backend, scheduler)  # checked before anything loads
    exporters = located(
        doc,
        ("exporters",),
        lambda: build_exporters(config_value(doc, "exporters", export or None, None)),
    )
    if resume and not (model or all_models or doc is not None or data or split or metric):
        _resume_only(Path(folder), exporters, n_jobs, quiet, as_json, where)
        return
    options = _Options(
        data=data,
        split=split,
        models=list(model),
        all_models=all_models,
        metrics=list(metric),
        threshold=relevance_threshold,
        jobs=n_jobs,
        folder=Path(folder) if folder is not None else default_run_dir("compare"),
        resume=resume,
        validate=validate,
        per_user=per_user,
        quiet=quiet,
        as_json=as_json,
        seed=seed,
        backend=where,
        seeds=seeds,
    )
    _run(doc, options, exporters)


@dataclass
class _Options:
    """The command-line options of one comparison (None: from the file, else the default)."""

    data: str | None
    split: str | None
    models: list[str]
    all_models: bool
    metrics: list[str]
    threshold: float | None
    jobs: int
    folder: Path
    resume: bool
    validate: bool
    per_user: bool
    quiet: bool
    as_json: bool
    seed: int | None
    backend: Any = None
    seeds: str | None = None


def _run(doc: Any, opt: _Options, exporters: list[Any]) -> None:
    from workbench.api import load_dataset
    from workbench.api.runs import build_request, resolve_metrics
    from workbench.api.runs import compare as run_compare  # checks metrics/models first
    from workbench.cli.workflow import report_data

    data_spec = config_value(doc, "data", opt.data)
    split_spec = config_value(doc, "split", opt.split)  # None: the plugins' "folds" default
    run_seed = int(config_value(doc, "seed", opt.seed, 0))
    protocol = dict(config_value(doc, "protocol", None, {}) or {})
    if opt.threshold is not None:
        protocol["relevance_threshold"] = opt.threshold
    dataset = located(doc, ("data",), lambda: load_dataset(data_spec))
    silent = opt.quiet or opt.as_json
    report_data(dataset, quiet=silent)
    entries = _model_items(doc, opt.models, opt.all_models, dataset, silent)
    metric_specs = config_value(doc, "metrics", opt.metrics or None, None)
    metrics = located(doc, ("metrics",), lambda: resolve_metrics(metric_specs, dataset))
    check_writable(opt.folder, "run folder")
    request = build_request(  # resolved once here; compare uses it as it is
        dataset,  # loaded once; it remembers its spec for the run's metadata
        split_spec,
        entries,
        metrics,
        protocol=protocol,
        seed=run_seed,
        backend=opt.backend,
        validation=opt.validate,
        per_user=opt.per_user,
        seeds=opt.seeds,
    )
    try:
        results = run_compare(
            request,
            jobs=opt.jobs,
            run_dir=opt.folder,
            resume=opt.resume,
            progress=None if silent else progress_bars("compare"),
        )
    except KeyboardInterrupt:
        interrupted(opt.folder)
    _finish(results, exporters, opt.folder, opt.quiet, opt.as_json)


def _resume_only(
    folder: Path,
    exporters: list[Any],
    jobs: int,
    quiet: bool,
    as_json: bool,
    backend: Any = None,
) -> None:
    from workbench.api import resume_run

    progress = None if quiet or as_json else progress_bars("resume")
    try:
        results = resume_run(folder, jobs=jobs, progress=progress, backend=backend)
    except KeyboardInterrupt:
        interrupted(folder)
    _finish(results, exporters, folder, quiet, as_json)


def _finish(results: Any, exporters: list[Any], folder: Path, quiet: bool, as_json: bool) -> None:

    errors = results.metadata.get("errors") or []
    for err in errors:
        warn(f"{err['model']} fold {int(err['fold'])} failed: {err['error']}")
    if results.scores.empty:
        raise WorkbenchError(f"no model finished a fold (run folder: {folder})")
    written = run_exports(results, exporters, json_mode=as_json)
    if as_json:
        payload = results.to_dict()
        payload["run_dir"] = str(folder)
        payload["files"] = [str(p) for p in written]
        print_json(payload)
        return
    print_significance(results)
    if not quiet:
        for path in written:
            note(f"wrote {path}")
        note(f"results kept in {folder}; export again: workbench report {folder} --export ...")


def register(app: typer.Typer) -> None:
    app.command(
        "compare",
        epilog=example(
            "workbench compare --data synthetic --model sgd --model biases --metric rmse "
            "--metric ndcg@10",
            'workbench compare -d "movielens variant=100k" -s "kfold n_folds=5" -m sgd '
            '-m "sgd n_factors=200 lr=0.005" --export "html path=reports/ml.html" --jobs 2',
            "workbench compare --config examples/experiments/synthetic.toml",
            "workbench compare --resume --run-dir runs/compare-20250101-120000",
        ),
    )(compare)
