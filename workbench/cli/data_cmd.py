"""``workbench data info`` and ``workbench data split``: describe a dataset and its splits."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from workbench.cli.common import console, example, print_json

data_app = typer.Typer(
    help="Describe datasets: counts, density, ratings, activity, and how splits look.",
    epilog=example(
        "workbench data info movielens variant=100k",
        'workbench data split ratings.csv --split "kfold n_folds=5"',
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def _load(dataset: str, options: list[str] | None, option: list[str] | None) -> dict[str, Any]:
    """The dataset's description (`workbench.api.describe_dataset`) and how it was named."""
    from workbench.api import describe_dataset
    from workbench.api.inputs import dataset_spec, parse_options

    extra = parse_options([*(options or []), *(option or [])], option="--option")
    spec = dataset_spec(dataset, **extra)
    info = describe_dataset({"name": spec.name, **spec.params})
    return {"dataset": spec.name, "options": spec.params, **info}


def _bar(count: int, biggest: int, width: int = 30) -> str:
    return "█" * max(1 if count else 0, round(width * count / max(biggest, 1)))


def _print_info(spec_text: str, info: dict[str, Any], seconds: float) -> None:
    from workbench.api.inputs import QUANTILES

    table = Table(title=f"{info['name']} ({spec_text})", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("feedback", info["kind"])
    table.add_row("interactions", f"{info['n_interactions']:,}")
    table.add_row("users", f"{info['n_users']:,}")
    table.add_row("items", f"{info['n_items']:,}")
    table.add_row("density", f"{info['density']:.4%}")
    if info["rating_scale"]:
        table.add_row("rating scale", f"{info['rating_scale'][0]:g} .. {info['rating_scale'][1]:g}")
    values = info["values"]
    if values:
        table.add_row("mean value (sd)", f"{values['mean']:.3f} ({values['std']:.3f})")
    if "time_range" in info:
        table.add_row(
            "time range", f"{info['time_range']['first']} .. {info['time_range']['last']}"
        )
    table.add_row(
        "duplicates merged", f"{info['duplicates_merged']:,} ({info['duplicate_policy'] or '-'})"
    )
    table.add_row("titles", "yes" if info["has_titles"] else "no")
    table.add_row("loaded in", f"{seconds:.2f} s")
    console.print(table)

    hist = values.get("histogram", {})
    if hist:
        biggest = max(hist.values())
        total = sum(hist.values())
        h = Table(title="ratings" if info["kind"] == "explicit" else "weights")
        h.add_column("value", justify="right")
        h.add_column("count", justify="right")
        h.add_column("share", justify="right")
        h.add_column("")
        for value, count in hist.items():
            h.add_row(value, f"{count:,}", f"{count / total:.1%}", _bar(count, biggest))
        console.print(h)

    act = Table(title="interactions per user / per item")
    act.add_column("")
    for name, _ in QUANTILES:
        act.add_column(name, justify="right")
    act.add_column("mean", justify="right")
    for label, key in (("users", "user_activity"), ("items", "item_activity")):
        q = info[key]
        if q:
            act.add_row(label, *(f"{q[n]:g}" for n, _ in QUANTILES), f"{q['mean']:.1f}")
    console.print(act)
    cold = info["cold"]
    console.print(
        f"users with 1 interaction: {cold['users_with_1']:,}; under 5: {cold['users_under_5']:,}. "
        f"items with 1 interaction: {cold['items_with_1']:,}; under 5: {cold['items_under_5']:,}.",
        markup=False,
    )


_OPTIONS_HELP = "Dataset options as key=value (see `workbench datasets NAME`)."


@data_app.command(
    "info",
    epilog=example(
        "workbench data info movielens variant=100k",
        "workbench data info tabular path=ratings.dat sep=:: header=false --json",
        "workbench data info synthetic -o n_interactions=1000000",
    ),
)
def info(
    dataset: str = typer.Argument(..., help="A dataset name (or a spec, or a data file)."),
    options: list[str] | None = typer.Argument(None, help=_OPTIONS_HELP, show_default=False),
    option: list[str] | None = typer.Option(
        None, "--option", "-o", help="A dataset option key=value (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Counts, density, rating histogram and activity distributions of a dataset."""
    info = _load(dataset, options, option)
    if as_json:
        print_json(info)
        return
    shown = " ".join([info["dataset"], *(f"{k}={v}" for k, v in info["options"].items())])
    _print_info(shown, info, info["load_seconds"])


@data_app.command(
    "split",
    epilog=example(
        'workbench data split movielens variant=100k --split "kfold n_folds=5"',
        'workbench data split synthetic --split "new-users user_fraction=0.1" --json',
    ),
)
def split(
    dataset: str = typer.Argument(..., help="A dataset name (or a spec, or a data file)."),
    options: list[str] | None = typer.Argument(None, help=_OPTIONS_HELP, show_default=False),
    option: list[str] | None = typer.Option(
        None, "--option", "-o", help="A dataset option key=value (repeatable)."
    ),
    splitter: str | None = typer.Option(
        None, "--split", "-s", help="A splitter spec (default: holdout, the default split)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Sizes of each train/test fold, cold users and items in test, and a leakage check."""
    from workbench.api import describe_splits, load_dataset
    from workbench.api.inputs import dataset_spec, make_splitter, parse_options

    extra = parse_options([*(options or []), *(option or [])], option="--option")
    spec = dataset_spec(dataset, **extra)
    data = load_dataset({"name": spec.name, **spec.params})
    made = make_splitter(splitter)
    rows = describe_splits(data, made)
    if as_json:
        print_json({"dataset": spec.name, "splitter": splitter or made.name, "splits": rows})
        return
    table = Table(title=f"{made.name} on {data.name}")
    columns = ("fold", "n_train", "n_test", "n_history", "test_users", "cold_users",
               "cold_items", "leaked_pairs")  # fmt: skip
    for col in columns:
        table.add_column(col.replace("_", " "), justify="right")
    for row in rows:
        table.add_row(*(str(row[c]) if c == "fold" else f"{row[c]:,}" for c in columns))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
