"""The kit a plugin's commands get through ``register_commands(app, kit)``.

Plugin commands print like the built-in ones without importing ``workbench.cli`` (whose
modules are not plugin API): the hook passes this small, stable object instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console

from workbench.cli.common import console, err_console, example, print_json


def print_frame(frame: Any, title: str | None = None, floatfmt: str = ".4g") -> None:
    """A pandas DataFrame as a rich table (imported on use: pandas is slow to import)."""
    from workbench.cli.workflow import print_frame as _print_frame

    _print_frame(frame, title=title, floatfmt=floatfmt)


@dataclass(frozen=True)
class CommandKit:
    """Consoles and printers for plugin commands (plugin API, stable).

    - ``console`` / ``err_console``: rich consoles on stdout / stderr;
    - ``example(*commands)``: the ``epilog=`` of a command's ``--help`` (every command has one);
    - ``print_json(data)``: machine-readable output on stdout (NaN as null);
    - ``print_frame(frame, title=None)``: a pandas DataFrame as a table.
    """

    console: Console
    err_console: Console
    example: Any
    print_json: Any
    print_frame: Any


KIT = CommandKit(
    console=console,
    err_console=err_console,
    example=example,
    print_json=print_json,
    print_frame=print_frame,
)
