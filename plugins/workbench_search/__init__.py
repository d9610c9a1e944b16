"""The built-in search strategies (``grid``, ``random``) and the ``local`` backend.

Registered like any third-party plugin (the ``workbench`` entry points in pyproject.toml):
``grid`` is the default strategy of ``workbench tune`` and ``local`` (the main process, or
loky worker processes with ``--jobs N``) the default backend of ``compare`` and ``tune``.
"""

from __future__ import annotations

from workbench import hookimpl


@hookimpl
def register_strategies(register):
    from workbench_search.strategies import Grid, Random

    register(Grid, default=True)
    register(Random)


@hookimpl
def register_backends(register):
    from workbench_search.local import Local

    register(Local, aliases=["loky"], default=True)
