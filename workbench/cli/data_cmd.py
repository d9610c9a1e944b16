"""``workbench data info`` and ``workbench data split``: describe a dataset and its splits."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import typer
from rich.table import Table

from workbench.cli.common import console, example, print_json
from workbench.data import Interactions

data_app = typer.Typer(
    help="Describe datasets: counts, density, ratings, activity, and how splits look.",
    epilog=example(
        "workbench data info movielens variant=100k",
        'workbench data split ratings.csv --split "kfold n_folds=5"',
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)

_QUANTILES = (("min", 0.0), ("p10", 0.1), ("p25", 0.25), ("median", 0.5), ("p75", 0.75),
              ("p90", 0.9), ("p99", 0.99), ("max", 1.0))  # fmt: skip


def _spec(dataset: str, options: list[str] | None, option: list[str] | None):
    from workbench.loading import dataset_spec
    from workbench.params import parse_assignments

    extra = parse_assignments([*(options or []), *(option or [])], option="--option")
    return dataset_spec(dataset, **extra)


def activity(counts: np.ndarray) -> dict[str, float]:
    """Quantiles and mean of per-user (or per-item) interaction counts."""
    counts = counts[counts > 0]
    if len(counts) == 0:
        return {}
    out = {name: float(np.quantile(counts, q)) for name, q in _QUANTILES}
    out["mean"] = float(counts.mean())
    return out


def value_summary(data: Interactions) -> dict[str, Any]:
    """Rating histogram (explicit) or weight quantiles (implicit)."""
    values = data.value
    if len(values) == 0:
        return {}
    summary: dict[str, Any] = {
        "mean": float(values.mean(dtype=np.float64)),
        "std": float(values.std(dtype=np.float64)),
    }
    distinct, counts = np.unique(values, return_counts=True)
    if len(distinct) <= 25:
        summary["histogram"] = {f"{v:g}": int(c) for v, c in zip(distinct, counts, strict=True)}
    else:
        lo, hi = float(distinct[0]), float(distinct[-1])
        skewed = lo > 0 and hi / lo > 50  # heavy-tailed counts: log-spaced bins
        edges = np.geomspace(lo, hi, 11) if skewed else np.linspace(lo, hi, 11)
        hist, _ = np.histogram(values, bins=edges)
        summary["histogram"] = {
            f"{a:.4g}..{b:.4g}": int(c) for a, b, c in zip(edges[:-1], edges[1:], hist, strict=True)
        }
        summary["quantiles"] = {n: float(np.quantile(values, q)) for n, q in _QUANTILES}
    return summary


def describe(data: Interactions) -> dict[str, Any]:
    """Everything ``data info`` shows, as plain JSON-able values."""
    users, items = data.user_counts(), data.item_counts()
    n_users, n_items = int((users > 0).sum()), int((items > 0).sum())
    info: dict[str, Any] = {
        "name": data.name,
        "kind": data.kind,
        "n_interactions": len(data),
        "n_users": n_users,
        "n_items": n_items,
        "density": len(data) / max(1, n_users * n_items),
        "rating_scale": list(data.rating_scale) if data.rating_scale else None,
        "values": value_summary(data),
        "user_activity": activity(users),
        "item_activity": activity(items),
        "cold": {
            "users_with_1": int((users == 1).sum()),
            "users_under_5": int(((users > 0) & (users < 5)).sum()),
            "items_with_1": int((items == 1).sum()),
            "items_under_5": int(((items > 0) & (items < 5)).sum()),
        },
        "duplicates_merged": int(data.meta.get("duplicates_merged", 0)),
        "duplicate_policy": data.meta.get("duplicate_policy"),
        "string_ids": {"users": data.users.is_string, "items": data.items.is_string},
        "has_titles": data.item_metadata is not None and "title" in data.item_metadata,
    }
    if data.timestamp is not None and len(data):
        lo, hi = int(data.timestamp.min()), int(data.timestamp.max())
        info["time_range"] = {
            "first": np.datetime64(lo, "s").astype(str),
            "last": np.datetime64(hi, "s").astype(str),
        }
    return info


def _bar(count: int, biggest: int, width: int = 30) -> str:
    return "█" * max(1 if count else 0, round(width * count / max(biggest, 1)))


def _print_info(spec_text: str, info: dict[str, Any], seconds: float) -> None:
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
    for name, _ in _QUANTILES:
        act.add_column(name, justify="right")
    act.add_column("mean", justify="right")
    for label, key in (("users", "user_activity"), ("items", "item_activity")):
        q = info[key]
        if q:
            act.add_row(label, *(f"{q[n]:g}" for n, _ in _QUANTILES), f"{q['mean']:.1f}")
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
    spec = _spec(dataset, options, option)
    started = time.perf_counter()
    data = spec.build().load()
    seconds = time.perf_counter() - started
    summary = describe(data)
    if as_json:
        print_json(
            {"dataset": spec.name, "options": spec.params, "load_seconds": seconds, **summary}
        )
        return
    _print_info(
        " ".join([spec.name, *(f"{k}={v}" for k, v in spec.params.items())]), summary, seconds
    )


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
    splitter: str = typer.Option("holdout", "--split", "-s", help="A splitter spec."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Sizes of each train/test fold, cold users and items in test, and a leakage check."""
    from workbench.loading import make_splitter

    spec = _spec(dataset, options, option)
    data = spec.build().load()
    made = make_splitter(splitter)
    rows = []
    for part in made.split(data):
        row = part.describe()
        row["leaked_pairs"] = part.leaked_pairs()
        row["test_users"] = int(len(np.unique(part.test.user)))
        rows.append(row)
    if as_json:
        print_json({"dataset": spec.name, "splitter": splitter, "splits": rows})
        return
    table = Table(title=f"{made.name} on {data.name}")
    columns = ("fold", "n_train", "n_test", "n_history", "test_users", "cold_users",
               "cold_items", "leaked_pairs")  # fmt: skip
    for col in columns:
        table.add_column(col.replace("_", " "), justify="right")
    for row in rows:
        table.add_row(*(f"{row[c] + 1}" if c == "fold" else f"{row[c]:,}" for c in columns))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
