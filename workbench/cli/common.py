"""Helpers shared by CLI commands: consoles, JSON output, examples in help, options."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.console import Console

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

#: ``--backend`` and ``--scheduler`` of the commands that run (model, fold) tasks.
BACKEND_OPTION = typer.Option(
    None,
    "--backend",
    help="Where the tasks run, a registered backend (workbench backends): local processes "
    "(the default), or a dask / ray cluster (--scheduler).",
)
SCHEDULER_OPTION = typer.Option(
    None,
    "--scheduler",
    help="Cluster address: tcp://HOST:8786 (dask); auto, HOST:6379 or ray://HOST:10001 (ray;"
    " none: start Ray in this process).",
)


def example(*commands: str) -> str:
    """An epilog for ``--help``: every command shows at least one example."""
    lines = "\n\n".join(f"  $ {c}" for c in commands)
    return f"[bold]Example{'s' if len(commands) > 1 else ''}:[/bold]\n\n{lines}"


def print_json(data: Any) -> None:
    """Machine-readable output on stdout (no rich markup)."""
    from workbench.api.inputs import dumps

    sys.stdout.write(dumps(data, indent=2) + "\n")
    sys.stdout.flush()


def fmt_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
