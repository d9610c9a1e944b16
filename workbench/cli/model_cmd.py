"""Single models: ``train``, ``evaluate``, ``recommend`` (known and new users), ``similar``."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from workbench.cli.common import console, err_console, example, print_json
from workbench.cli.workflow import note, print_frame
from workbench.errors import DataError, ParamError

MODEL_FILE = typer.Argument(..., help="A model file written by `workbench train -o`.")


def _epoch_bar(quiet: bool) -> tuple[Any, Any]:
    """A rich progress bar over epochs (and its callback), or (None, None) when quiet."""
    if quiet:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bars = Progress(
        TextColumn("training"),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TextColumn("{task.fields[loss]}"),
        console=err_console,
        transient=True,
    )
    task = bars.add_task("fit", total=None, loss="")

    def callback(info: Any) -> None:
        bars.update(task, total=info.n_epochs, completed=info.epoch, loss=f"loss {info.loss:.4g}")

    return bars, callback


def _print_scores(frame: pd.DataFrame, title: str) -> None:

    print_frame(frame[["metric", "value"]], title=title)


def train(
    model: str = typer.Argument(..., help='Model name or spec, e.g. "sgd n_factors=50".'),
    data: str | None = typer.Option(
        None, "--data", "-d", help="Dataset spec (default: synthetic, the default dataset)."
    ),
    param: list[str] = typer.Option(
        [], "--param", "-p", help="Model parameter key=value, repeatable."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Model file to write (.npz)."),
    split: str | None = typer.Option(
        None,
        "--split",
        "-s",
        help="Train on the first split's train part and evaluate on its "
        'test part, e.g. "holdout ratio=0.2".',
    ),
    metric: list[str] = typer.Option([], "--metric", help="Metrics for the holdout, repeatable."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split and the model."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Train one model and save it to a file (optionally evaluating on a holdout)."""
    from workbench import api
    from workbench.api.inputs import data_facts, model_target, parse_spec
    from workbench.cli.workflow import report_data

    target = model_target(output)  # checked before any work
    if metric and split is None:
        raise ParamError("--metric needs --split (the holdout to evaluate on)")
    spec = parse_spec("model", model, extra=param)
    dataset = api.load_dataset(data)
    report_data(dataset, quiet=quiet or as_json)
    bars, callback = _epoch_bar(quiet or as_json)
    trained = None
    with bars if bars is not None else contextlib.nullcontext():
        if split is not None:
            trained = api.train_holdout(
                spec.name,
                dataset,
                split,
                metrics=metric or None,
                seed=seed,
                callback=callback,
                **spec.params,
            )
            fitted, train_part, seconds = trained.model, trained.train, trained.fit_seconds
        else:
            started = time.perf_counter()
            fitted = api.train(spec.name, dataset, seed=seed, callback=callback, **spec.params)
            seconds = time.perf_counter() - started
            train_part = dataset
    path = fitted.save(target)
    if as_json:
        out: dict[str, Any] = {
            "model": fitted.name,
            "params": fitted.get_params(),
            "path": str(path),
            "fit_seconds": seconds,
            "n_train": len(train_part),
            "data": data_facts(dataset),
        }
        if trained is not None:
            scores = trained.scores
            out["scores"] = dict(zip(scores["metric"], scores["value"], strict=True))
        print_json(out)
        return
    console.print(
        f"saved {path}: {fitted.name}, {fitted.n_users_} users x "
        f"{fitted.n_items_} items, trained on {len(train_part)} interactions in "
        f"{seconds:.2f} s",
        markup=False,
    )
    if trained is not None:
        _print_scores(trained.scores, f"Holdout ({len(trained.test)} test interactions)")
    if not quiet:
        note(f"next: workbench recommend {path} --user ID")


def evaluate(
    model_file: Path = MODEL_FILE,
    data: str = typer.Option(..., "--data", "-d", help="Dataset spec of the test data."),
    split: str | None = typer.Option(
        None,
        "--split",
        "-s",
        help="Evaluate on the first split's test part (use the same "
        "--split and --seed as `train`); without it the whole data is the test set.",
    ),
    metric: list[str] = typer.Option([], "--metric", help="Metric spec, repeatable."),
    relevance_threshold: float | None = typer.Option(
        None, "--relevance-threshold", help="Ratings at or above are relevant."
    ),
    by_activity: bool = typer.Option(
        False,
        "--by-activity",
        help="Also show performance and coverage by how many train interactions users have.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the split."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Evaluate a saved model on held-out data."""
    from workbench.api import evaluate_model, first_split, load_dataset, load_model
    from workbench.api.inputs import EvaluationProtocol

    model = load_model(model_file)
    dataset = load_dataset(data)
    test = first_split(dataset, split, seed=seed).test if split is not None else dataset
    protocol = EvaluationProtocol(relevance_threshold=relevance_threshold, seed=seed)
    scores = evaluate_model(model, test, metric or None, protocol=protocol, per_user=by_activity)
    diag = scores.attrs.get("diagnostics", {})
    table = None
    if by_activity:
        from workbench.api.inputs import activity_buckets

        table = activity_buckets(scores.attrs["per_user"], n_items=model.n_items_)
    if as_json:
        out: dict[str, Any] = {
            "model": str(model_file),
            "scores": dict(zip(scores["metric"], scores["value"], strict=True)),
            "diagnostics": diag,
        }
        if table is not None:
            out["by_activity"] = json.loads(table.to_json(orient="records"))
        print_json(out)
        return
    _print_scores(scores, f"{model.name} on {dataset.name} ({diag.get('n_test', len(test))} pairs)")
    facts = [f"{k}={diag[k]}" for k in ("cold_users", "cold_items", "cold_pairs") if k in diag]
    dropped = diag.get("dropped_new_user_pairs", 0) + diag.get("dropped_new_item_pairs", 0)
    if dropped:
        facts.append(f"dropped {dropped} pairs of users/items the model never saw")
    if facts:
        console.print(", ".join(facts), markup=False)
    if table is not None:
        hidden = {"model", "min_train", "max_train", "ranked_users"}
        shown = table[[c for c in table.columns if c not in hidden]]
        print_frame(shown, title="By user activity (train interactions)", floatfmt=".3g")


def recommend(
    model_file: Path = MODEL_FILE,
    user: list[str] = typer.Option([], "--user", "-u", help="User id, repeatable."),
    history: Path | None = typer.Option(
        None,
        "--history",
        help="Ratings of new users (a file `tabular` reads: user, item, "
        "rating); they are folded in with item factors frozen, no retraining.",
    ),
    history_option: list[str] = typer.Option(
        [], "--history-option", help="Option of the history file, e.g. sep=, (repeatable)."
    ),
    k: int = typer.Option(10, "--k", "-k", help="Recommendations per user."),
    include_seen: bool = typer.Option(
        False, "--include-seen", help="Also recommend items the user already rated."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    all_users: bool = typer.Option(
        False, "--all-users", help="Every user of the model (with --output)."
    ),
    users_file: Path | None = typer.Option(
        None, "--users-file", help="Known user ids, one per line (with --output)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the lists to this .csv or .parquet file, in batches."
    ),
    batch_size: int = typer.Option(10_000, "--batch-size", help="Users per batch (--output)."),
) -> None:
    """Top-k items for known users (--user) or new users (--history FILE); for every user
    (--all-users) or a users file to a CSV/Parquet (--output)."""
    from workbench.api import load_model, recommend_new_users
    from workbench.api import recommend as recommend_known

    if k < 1:
        raise ParamError(f"-k must be >= 1, got {k}")
    if all_users or users_file is not None or output is not None:
        from workbench.cli.bulk import recommend_to_file_cli

        return recommend_to_file_cli(
            model_file, output, k, all_users=all_users, users=user, users_file=users_file,
            history=history, include_seen=include_seen, batch_size=batch_size, as_json=as_json,
        )  # fmt: skip
    if not user and history is None:
        raise ParamError("give --user ID (repeatable) or --history FILE for new users")
    if user and history is not None:
        raise ParamError("give either --user or --history, not both")
    model = load_model(model_file)
    if history is not None:
        from workbench.api.inputs import parse_options, read_history

        options = parse_options(history_option, option="--history-option")
        frame = recommend_new_users(
            model,
            read_history(history, **options),
            k,
            exclude_seen=not include_seen,
        )
    else:
        idx = model.users_.index_of(user, missing="minus1")
        unknown = [u for u, i in zip(user, idx, strict=True) if i < 0]
        if unknown:
            raise DataError(
                f"user {unknown[0]} is not in the training data of {model_file}; for a new "
                "user, recommend from their ratings with --history FILE"
            )
        # the model's own ids (ints stay ints): --json prints user ids like item ids
        typed = model.users_.id_of(idx).tolist()
        frame = recommend_known(model, typed, k, exclude_seen=not include_seen)
    _show_lists(frame, "user", as_json)


def _show_lists(frame: pd.DataFrame, key: str, as_json: bool) -> None:
    if as_json:
        print_json(json.loads(frame.to_json(orient="records")))
        return

    for value, group in frame.groupby(key, sort=False):
        print_frame(group.drop(columns=[key]), title=f"{key} {value}")


def similar(
    model_file: Path = MODEL_FILE,
    item: list[str] = typer.Option([], "--item", "-i", help="Item id, repeatable."),
    k: int = typer.Option(10, "--k", "-k", help="Similar items per item."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Nearest items in the model's factor space (cosine similarity)."""
    from workbench.api import load_model, similar_items

    if not item:
        raise ParamError("give --item ID (repeatable)")
    if k < 1:
        raise ParamError(f"-k must be >= 1, got {k}")
    model = load_model(model_file)
    try:
        frame = similar_items(model, item, k)
    except DataError as exc:
        raise DataError(f"{exc} ({model_file})") from None
    _show_lists(frame, "item", as_json)


def register(app: typer.Typer) -> None:
    app.command(
        "train",
        epilog=example(
            "workbench train sgd --data synthetic -p n_factors=20 -o model.npz",
            'workbench train sgd -d "movielens variant=100k" -s "holdout ratio=0.2" '
            "--metric rmse --metric ndcg@10 -o ml.npz",
        ),
    )(train)
    app.command(
        "evaluate",
        epilog=example(
            'workbench evaluate ml.npz -d "movielens variant=100k" -s "holdout ratio=0.2"',
            'workbench evaluate model.npz -d "tabular path=test.csv" --metric rmse --by-activity',
        ),
    )(evaluate)
    app.command(
        "recommend",
        epilog=example(
            "workbench recommend ml.npz --user 1 --user 2 -k 10",
            "workbench recommend ml.npz --history new_user_ratings.csv -k 5",
        ),
    )(recommend)
    app.command("similar", epilog=example("workbench similar ml.npz --item 50 -k 5"))(similar)
