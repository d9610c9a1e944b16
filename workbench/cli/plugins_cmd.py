"""``workbench plugins`` and the per-kind listings (``models``, ``datasets``, ...)."""

from __future__ import annotations

import inspect
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from workbench.api.catalogue import KINDS, PLURAL, plugin_statuses
from workbench.api.catalogue import registry as get_registry
from workbench.cli.common import console, example, fmt_value, print_json


def _status_style(status: str) -> str:
    return {"ok": "green", "unavailable": "yellow", "error": "red"}.get(status, "dim")


def plugins(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks of failures."),
) -> None:
    """List every installed plugin: distribution, version, what it registers, status."""

    statuses = plugin_statuses()
    if as_json:
        print_json([s.as_dict() for s in statuses])
        return
    table = Table(title="workbench plugins", show_lines=False)
    for col in ("plugin", "distribution", "version", "registers", "status"):
        table.add_column(col)
    for s in statuses:
        registers = "; ".join(f"{PLURAL[k]}: {', '.join(v)}" for k, v in s.registers.items())
        state = Text(s.status, style=_status_style(s.status))
        if s.error:
            state.append(f": {s.error}")  # plain text: "[fancy]" in a hint stays visible
        table.add_row(
            Text(s.name),
            Text(s.distribution or "-"),
            Text(s.version or "-"),
            Text(registers or "-"),
            state,
        )
    console.print(table)
    if verbose:
        for s in statuses:
            if s.traceback:
                console.print(f"\n[bold]{escape(s.name)}[/bold]", markup=True)
                console.print(s.traceback, markup=False)


def _params_json(cls: Any) -> list[dict[str, Any]]:
    return [p.as_dict() for p in cls.describe_params()]


def _card(obj: Any) -> dict[str, Any] | None:
    """A dataset's catalogue card (a public dataset: size, licence, ...), or None."""
    card = getattr(obj, "card", None)
    return card() if callable(card) else None


def _print_cards(entries: list[Any], cards: dict[str, Any]) -> None:
    table = Table(title="public datasets (workbench data fetch NAME; --data NAME)")
    for col in ("name", "size", "interactions", "kind", "licence", "cached"):
        table.add_column(
            col,
            justify="right" if col == "interactions" else "left",
            no_wrap=col != "licence",
            min_width=16 if col == "licence" else None,
        )
    for e in entries:
        c = cards[e.name]
        n = c.get("interactions")
        cached = c.get("cached")
        shown = (
            "by hand"
            if c.get("obtain") and not c.get("urls")
            else ("yes" if cached is True else (cached or "no"))
        )
        table.add_row(*(Text(str(v)) for v in (
            e.name, c.get("size", "?"), f"{n:,}" if n else "?", c.get("kind", "?"),
            c.get("licence", "?"), shown,
        )))  # fmt: skip
    console.print(table)


def show_kind(kind: str, name: str | None, as_json: bool) -> None:
    """List things of one kind, or show one thing's parameters."""

    registry = get_registry()
    if name is None:
        entries = registry.list(kind)
        cards = {e.name: _card(e.obj) for e in entries}
        if as_json:
            print_json(
                [
                    {
                        "name": e.name,
                        "aliases": list(e.aliases),
                        "plugin": e.plugin,
                        "summary": e.summary,
                        "params": _params_json(e.obj),
                        **({"card": cards[e.name]} if cards[e.name] else {}),
                    }
                    for e in entries
                ]
            )
            return
        public = [e for e in entries if cards[e.name]]
        entries = [e for e in entries if not cards[e.name]]
        table = Table(title=f"{PLURAL[kind]}")
        table.add_column("name", style="bold")
        table.add_column("aliases")
        table.add_column("plugin")
        table.add_column("description")
        for e in entries:
            table.add_row(
                *(Text(v) for v in (e.name, ", ".join(e.aliases) or "-", e.plugin, e.summary))
            )
        console.print(table)
        if public:
            _print_cards(public, cards)
        console.print(f"Show parameters: workbench {PLURAL[kind]} NAME", markup=False)
        return
    entry = registry.entry(kind, name)
    if as_json:
        print_json(
            {
                "name": entry.name,
                "kind": kind,
                "aliases": list(entry.aliases),
                "plugin": entry.plugin,
                "distribution": entry.distribution,
                "version": entry.version,
                "summary": entry.summary,
                "doc": inspect.getdoc(entry.obj) or "",
                "params": _params_json(entry.obj),
            }
        )
        return
    console.print(
        f"[bold]{escape(entry.name)}[/bold] ({kind} from plugin '{escape(entry.plugin)}')",
        markup=True,
    )
    doc = inspect.getdoc(entry.obj) or ""
    if doc:
        console.print(doc, markup=False)
    params = entry.obj.describe_params()
    if not params:
        console.print("No parameters.")
        return
    table = Table(title="parameters")
    for col in ("name", "type", "default", "bounds", "description"):
        table.add_column(col)
    for p in params:
        default = "(required)" if p.required else fmt_value(p.default)
        table.add_row(*(Text(v) for v in (p.name, p.type, default, p.bounds or "-", p.description)))
    console.print(table)
    first = params[0]
    value = "VALUE" if first.required or first.default is None else fmt_value(first.default)
    hint = f'Set them in a spec: {_SPEC_OPTION[kind]} "{entry.name} {first.name}={value}"'
    flag = {"model": "--param", "dataset": "--option"}.get(kind)
    if flag:
        hint += f", or with {flag} {first.name}={value}"
    console.print(hint + ".", markup=False)


_SPEC_OPTION = {
    "dataset": "--data",
    "splitter": "--split",
    "model": "--model",
    "metric": "--metric",
    "exporter": "--export",
    "strategy": "workbench tune --strategy",
    "backend": "--backend",
}


def _make_kind_command(kind: str):
    plural = PLURAL[kind]
    flag = "--param" if kind == "model" else "--option"

    def command(
        name: str | None = typer.Argument(None, help=f"Show one {kind}'s parameters."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        show_kind(kind, name, as_json)

    command.__doc__ = f"List the registered {plural}, or show one {kind}'s parameters ({flag})."
    return command


_EXAMPLES = {
    "dataset": ("workbench datasets", "workbench datasets movielens --json"),
    "splitter": ("workbench splitters", "workbench splitters kfold"),
    "model": ("workbench models", "workbench models sgd"),
    "metric": ("workbench metrics", "workbench metrics ndcg"),
    "exporter": ("workbench exporters", "workbench exporters html"),
    "strategy": ("workbench strategies", "workbench strategies tpe"),
    "backend": ("workbench backends", "workbench backends dask"),
}


def register(app: typer.Typer) -> None:
    app.command("plugins", epilog=example("workbench plugins", "workbench plugins --json"))(plugins)
    for kind in KINDS:
        app.command(PLURAL[kind], epilog=example(*_EXAMPLES[kind]))(_make_kind_command(kind))
