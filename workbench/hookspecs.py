"""Hook specifications of the ``workbench`` plugin system (pluggy project ``workbench``).

A plugin is a module (declared under the ``workbench`` entry-point group) with functions
decorated by `workbench.hookimpl`. Registration hooks receive a ``register`` callback: the
plugin declares, the core validates and records. Every hook here has a section in
``docs/hooks.md`` (a test checks it).

Implementations should import heavy modules inside the hook, so listing plugins stays fast.
Thanks to pluggy's opt-in arguments, an implementation may accept fewer arguments than the
spec; new arguments can be added without breaking plugins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    import typer

hookspec = pluggy.HookspecMarker("workbench")
hookimpl = pluggy.HookimplMarker("workbench")


class Register(Protocol):
    """The callback given to registration hooks."""

    def __call__(
        self,
        obj: type,
        *,
        aliases: tuple[str, ...] | list[str] = (),
        default: bool | str | list[str] | dict[str, str] = False,
    ) -> None: ...


@hookspec
def register_datasets(register: Register) -> None:
    """Register `workbench.dataset.Dataset` subclasses: ``register(MovieLens)``."""


@hookspec
def register_splitters(register: Register) -> None:
    """Register `workbench.splits.Splitter` subclasses: ``register(KFold, aliases=["cv"])``."""


@hookspec
def register_models(register: Register) -> None:
    """Register `workbench.model.Model` subclasses: ``register(BiasedMF, aliases=["funk-svd"])``."""


@hookspec
def register_metrics(register: Register) -> None:
    """Register `workbench.metric.Metric` subclasses: ``register(NDCG)``."""


@hookspec
def register_exporters(register: Register) -> None:
    """Register `workbench.exporter.Exporter` subclasses: ``register(Html, aliases=["report"])``."""


@hookspec
def register_strategies(register: Register) -> None:
    """Register `workbench.strategy.SearchStrategy` subclasses: ``register(Grid, default=True)``."""


@hookspec
def register_backends(register: Register) -> None:
    """Register `workbench.backend.Backend` subclasses: ``register(Dask)``."""


@hookspec
def register_commands(app: typer.Typer, kit: Any) -> None:
    """Add CLI commands or command groups to the ``workbench`` typer app.

    ``kit`` (`workbench.cli.kit.CommandKit`) holds the consoles and printers the built-in
    commands use (``kit.example``, ``kit.console``, ``kit.print_json``, ``kit.print_frame``),
    so a plugin's commands need not import ``workbench.cli``. An implementation may take
    ``app`` alone (the first form of this hook).
    """


@hookspec
def on_run_finished(run: Any) -> None:
    """Event: a (model, fold) result of a comparison was recorded.

    ``run`` is a dict with at least ``model``, ``fold``, ``scores`` and ``run_dir`` (or None).
    Called in the main process, after the result is safely on disk.
    """
