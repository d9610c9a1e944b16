"""The ``workbench`` command line: a thin typer + rich layer over the Python API.

Command modules are the ``*_cmd.py`` files of this package; each defines ``register(app)``.
Plugins add commands through the ``register_commands`` hook.
"""

from workbench.cli.app import app, main

__all__ = ["app", "main"]
