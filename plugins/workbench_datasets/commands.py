"""``workbench data fetch NAME`` and ``workbench data cache``: the plugin's commands.

Added to the ``data`` command group when the CLI has one (else as ``fetch-data`` and
``data-cache`` at the top level).
"""

from __future__ import annotations

from typing import Any

import typer


def _fetch(
    name: str = typer.Argument(..., help="A public dataset, e.g. ml-1m or amazon-2018:Books."),
    option: list[str] | None = typer.Option(
        None, "--option", "-o", help="A dataset option key=value (repeatable), e.g. mirror=URL."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Download a public dataset's files into the cache, verify their checksums."""
    from workbench.api.inputs import dataset_spec, parse_options
    from workbench.errors import DataError
    from workbench_datasets.public import PublicDataset

    spec = dataset_spec(name, **parse_options(option or [], option="--option"))
    dataset = spec.build()
    if not isinstance(dataset, PublicDataset):
        raise DataError(
            f"{spec.name} is not a public dataset of the catalogue (it reads files you give); "
            "see: workbench datasets"
        )
    paths = dataset.fetch()
    rows = [{"file": str(p), "bytes": p.stat().st_size} for p in paths]
    if as_json:
        _KIT["kit"].print_json({"dataset": spec.name, "files": rows})
        return
    for row in rows:
        _KIT["kit"].console.print(f"{row['file']} ({row['bytes']:,} bytes): verified", markup=False)


def _cache(
    clear: bool = typer.Option(False, "--clear", help="Remove the converted copies."),
    name: str | None = typer.Option(None, "--name", help="Only the copies of this dataset."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List the converted copies of loaded datasets (or remove them with --clear)."""
    from workbench_datasets import convcache

    kit = _KIT["kit"]
    if clear:
        n = convcache.clear(name)
        if as_json:
            kit.print_json({"removed": n})
        else:
            kit.console.print(f"removed {n} converted cop{'y' if n == 1 else 'ies'}", markup=False)
        return
    rows = [r for r in convcache.entries() if name is None or r["name"] == name
            or (r.get("source") or {}).get("dataset") == name]  # fmt: skip
    if as_json:
        kit.print_json({"folder": str(convcache.folder()), "copies": rows})
        return
    from rich.table import Table

    table = Table(title=f"converted copies in {convcache.folder()}")
    for col in ("key", "name", "rows", "size", "created"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["key"], str(r["name"]), f"{r['rows'] or 0:,}",
                      f"{r['bytes'] / 2**20:.1f} MiB", str(r["created"]))  # fmt: skip
    kit.console.print(table)


_KIT: dict[str, Any] = {}


def register(app: typer.Typer, kit: Any) -> None:
    _KIT["kit"] = kit
    group = next((g.typer_instance for g in app.registered_groups if g.name == "data"), None)
    fetch_help = kit.example("workbench data fetch ml-1m", "workbench data fetch amazon-2018:Books")
    cache_help = kit.example("workbench data cache", "workbench data cache --clear")
    if group is not None:
        group.command("fetch", epilog=fetch_help)(_fetch)
        group.command("cache", epilog=cache_help)(_cache)
    else:  # pragma: no cover - the built-in CLI has a data group
        app.command("fetch-data", epilog=fetch_help)(_fetch)
        app.command("data-cache", epilog=cache_help)(_cache)
