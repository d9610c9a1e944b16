"""Every command and subcommand of the ``workbench`` CLI shows an example in ``--help``."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from workbench.cli.app import build_app


def command_paths() -> list[tuple[str, ...]]:
    """Every command path of the click tree (groups added by any module or plugin too)."""
    root = typer.main.get_command(build_app())  # a click group (typer may vendor click)
    paths: list[tuple[str, ...]] = [()]

    def walk(group: object, prefix: tuple[str, ...]) -> None:
        for name, command in sorted(group.commands.items()):
            if getattr(command, "hidden", False):
                continue
            paths.append((*prefix, name))
            if hasattr(command, "commands"):  # a sub-group
                walk(command, (*prefix, name))

    assert hasattr(root, "commands")
    walk(root, ())
    return paths


PATHS = command_paths()


def test_the_tree_has_the_core_commands() -> None:
    names = {p[0] for p in PATHS if p}
    assert {"plugins", "models", "datasets", "splitters", "metrics", "exporters"} <= names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(("workbench", *p)))
def test_help_shows_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(build_app(), [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`workbench {' '.join(path)} --help` has no example"
    assert "$ workbench" in result.output or "workbench " in result.output.split("Example")[1]
