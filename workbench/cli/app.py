"""The typer application, global options and error handling."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import warnings

import typer

from workbench.cli.common import err_console, example
from workbench.errors import WorkbenchError

app = typer.Typer(
    name="workbench",
    help="Compare, tune and ship matrix-factorization recommenders. "
    "Every dataset, splitter, model, metric and exporter is a plugin.",
    epilog=example(
        "workbench plugins",
        "workbench models sgd",
        "workbench compare --data synthetic --model sgd --model baseline --metric rmse",
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_STATE = {"verbose": False}


def _version_callback(value: bool) -> None:
    if value:
        from workbench.storage import workbench_version

        typer.echo(f"recsys-workbench {workbench_version()}")
        raise typer.Exit()


@app.callback()
def _global(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Show tracebacks and plugin load details."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Fail when any plugin fails to load (also WORKBENCH_STRICT=1)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
) -> None:
    """Global options (they go before the command)."""
    _STATE["verbose"] = verbose


def _register_builtin_commands() -> None:
    package = importlib.import_module("workbench.cli")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.endswith("_cmd"):
            importlib.import_module(f"workbench.cli.{info.name}").register(app)


def _register_plugin_commands() -> None:
    from workbench.plugins import get_loaded

    loaded = get_loaded()
    for impl in loaded.pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(**{a: app for a in impl.argnames})
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not break the CLI
            err_console.print(
                f"[yellow]warning:[/yellow] plugin '{impl.plugin_name}' failed to add "
                f"commands: {type(exc).__name__}: {exc}"
            )


def _warn_failed_plugins(verbose: bool) -> None:
    from workbench.plugins import get_loaded

    for status in get_loaded().registry.statuses:
        if status.status == "error":
            dist = f" ({status.distribution})" if status.distribution else ""
            err_console.print(
                f"[yellow]warning:[/yellow] plugin '{status.name}'{dist} failed: {status.error}",
                markup=True,
            )
            if verbose and status.traceback:
                err_console.print(status.traceback, markup=False)


_BUILT = False


def build_app() -> typer.Typer:
    """Register built-in command modules and plugin commands (once)."""
    global _BUILT
    if not _BUILT:
        _register_builtin_commands()
        _register_plugin_commands()
        _BUILT = True
    return app


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one-line errors, tracebacks only with ``--verbose``."""
    args = sys.argv[1:] if argv is None else argv
    verbose = "--verbose" in args or "-v" in args
    if "--strict" in args:
        os.environ["WORKBENCH_STRICT"] = "1"
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        from workbench.plugins import get_loaded

        get_loaded()
        listing = bool(args) and args[0] == "plugins"
        if not listing:
            _warn_failed_plugins(verbose)
        build_app()
        app(args=args, prog_name="workbench", standalone_mode=True)
    except WorkbenchError as exc:
        if verbose:
            import traceback

            err_console.print(traceback.format_exc(), markup=False)
        err_console.print(f"[red]error:[/red] {exc}", markup=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/red]")
        sys.exit(130)
