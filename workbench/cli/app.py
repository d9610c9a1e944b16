"""The typer application, global options and error handling."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import traceback
import warnings

import typer
from rich.markup import escape

from workbench.api.catalogue import (
    STATUS_ERROR,
    hook_implementations,
    loaded_plugins,
    one_line,
    plugin_statuses,
    strict,
    version,
)
from workbench.cli.common import err_console, example
from workbench.cli.kit import KIT
from workbench.errors import PluginError, WorkbenchError

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
        typer.echo(f"recsys-workbench {version()}")
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
    """Call each plugin's ``register_commands`` separately; a failure is recorded in the
    plugin's status (and an error with ``--strict``); the commands it added are removed."""

    statuses = {s.name: s for s in plugin_statuses()}
    for impl in hook_implementations("register_commands"):
        n_commands, n_groups = len(app.registered_commands), len(app.registered_groups)
        try:
            impl.function(**{a: {"app": app, "kit": KIT}[a] for a in impl.argnames})
        except BaseException as exc:  # noqa: BLE001 - not even by sys.exit() or Ctrl-C
            del app.registered_commands[n_commands:]
            del app.registered_groups[n_groups:]
            status = statuses.get(impl.plugin_name)
            error = f"register_commands: {one_line(exc)}"
            if status is None:
                err_console.print(
                    f"warning: plugin '{impl.plugin_name}' failed: {error}", markup=False
                )
                continue
            status.status, status.error = STATUS_ERROR, error
            status.traceback = "".join(traceback.format_exception(exc))
            if strict():
                dist = f" ({status.distribution})" if status.distribution else ""
                raise PluginError(f"plugin '{status.name}'{dist} error: {error}") from exc


def _warn_failed_plugins(verbose: bool) -> None:

    for status in plugin_statuses():
        if status.status == "error":
            dist = f" ({status.distribution})" if status.distribution else ""
            err_console.print(
                f"[yellow]warning:[/yellow] plugin '{status.name}'{dist} failed: "
                + escape(status.error or ""),
                markup=True,
            )
            if verbose and status.traceback:
                err_console.print(status.traceback, markup=False)


def _show_workbench_warnings() -> None:
    """Print `WorkbenchWarning`s as one ``warning:`` line each (other warnings as usual)."""
    from workbench.errors import WorkbenchWarning

    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        if isinstance(category, type) and issubclass(category, WorkbenchWarning):
            err_console.print(f"[yellow]warning:[/yellow] {escape(str(message))}", markup=True)
            return
        default(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    warnings.simplefilter("always", WorkbenchWarning)


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
    from workbench.cli.signals import terminate_like_interrupt

    with warnings.catch_warnings(), terminate_like_interrupt():  # both restored after
        warnings.simplefilter("ignore", DeprecationWarning)
        _show_workbench_warnings()
        _main(args, verbose)


def _refuse_unquoted_specs(args: list[str]) -> None:
    """A spec typed without quotes: one line with the quoted command (not click's box)."""
    from workbench.cli.specargs import unquoted_spec_hint

    hint = unquoted_spec_hint(args)
    if hint is not None:
        err_console.print(
            f"[red]error:[/red] a spec with parameters is one argument; quote it: {escape(hint)}",
            markup=True,
        )
        sys.exit(2)


def _main(args: list[str], verbose: bool) -> None:
    try:
        loaded_plugins()
        build_app()
        command = next((a for a in args if not a.startswith("-")), None)
        _refuse_unquoted_specs(args)
        listing = command == "plugins"
        if not listing:
            _warn_failed_plugins(verbose)
        app(args=args, prog_name="workbench", standalone_mode=True)
    except WorkbenchError as exc:
        if verbose:
            err_console.print(traceback.format_exc(), markup=False)
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", markup=True)
        sys.exit(1)
    except KeyboardInterrupt as exc:
        from workbench.cli.signals import exit_code

        err_console.print("[red]interrupted[/red]")
        sys.exit(exit_code(exc))
