"""Plugins that call sys.exit() or raise KeyboardInterrupt in their import or hooks, and
listeners that fail (issue 22): the plugin is `error`, one warning line names it, and every
command keeps working.

The fixture distribution (``tests/fixtures/hostile-plugins/wb-fixture-exits``) is installed
for real with pip and loaded through its entry points in a ``workbench`` subprocess, like the
loading tests' fixtures; it lives apart from them so that it loads only here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_env import ROOT, install, run_workbench

HOSTILE = ROOT / "tests" / "fixtures" / "hostile-plugins" / "wb-fixture-exits"
DIST = "wb-fixture-exits"
EXPECTED = {
    "exits_on_import": "import failed: SystemExit: 4",
    "exits_in_register": "register_models: SystemExit: 3",
    "interrupts_in_register": "register_metrics: KeyboardInterrupt",
    "exits_in_commands": "register_commands: SystemExit: 6",
}
LISTENERS = ("listener_raises", "listener_exits")
SYNTH = "synthetic n_users=60 n_items=40 n_interactions=800 seed=1"


@pytest.fixture(scope="module")
def hostile_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("hostile-site")
    return install([HOSTILE], target, tmp_path_factory.mktemp("hostile-src"))


def test_exits_and_interrupts_in_plugins_are_isolated(hostile_path: Path) -> None:
    done = run_workbench("models", path=hostile_path)
    assert done.returncode == 0, done.stderr
    assert "sgd" in done.stdout and "als" in done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    for name, error in EXPECTED.items():
        line = next((w for w in lines if f"plugin '{name}'" in w), None)
        assert line == f"warning: plugin '{name}' ({DIST}) failed: {error}", (name, lines)
    assert len(lines) == len(EXPECTED), lines  # the listeners load fine: no warning
    assert "Traceback" not in done.stderr


def test_the_listing_shows_them_as_errors(hostile_path: Path) -> None:
    done = run_workbench("plugins", "--json", path=hostile_path)
    assert done.returncode == 0, done.stderr
    listing = {p["name"]: p for p in json.loads(done.stdout)}
    for name, error in EXPECTED.items():
        assert listing[name]["status"] == "error", name
        assert listing[name]["error"] == error
        assert listing[name]["registers"] == {}
    for name in LISTENERS:
        assert listing[name]["status"] == "ok"


def test_strict_makes_an_exiting_plugin_a_one_line_error(hostile_path: Path) -> None:
    done = run_workbench("--strict", "models", path=hostile_path)
    assert done.returncode == 1
    # the first in load order (by entry-point name)
    assert done.stderr.startswith(f"error: plugin 'exits_in_register' ({DIST}) error: ")
    assert len(done.stderr.strip().splitlines()) == 1


def test_failing_listeners_are_one_warning_line_each_and_the_run_finishes(
    hostile_path: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    done = run_workbench(
        "compare", "--data", SYNTH, "--model", "biases", "--split", "kfold n_folds=2",
        "--metric", "rmse", "--run-dir", str(run_dir), "--quiet",
        path=hostile_path, env={"WORKBENCH_DISABLE_PLUGINS": ",".join(EXPECTED)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    raised = "on_run_finished failed: RuntimeError: fixture: listener exploded on biases fold"
    expected = [f"warning: plugin 'listener_raises' ({DIST}): {raised} {f}" for f in (0, 1)]
    exited = f"warning: plugin 'listener_exits' ({DIST}): on_run_finished failed: SystemExit: 5"
    assert sorted(lines) == sorted([*expected, exited, exited]), lines
    assert "warnings.warn" not in done.stderr and ".py:" not in done.stderr
    assert len((run_dir / "results.jsonl").read_text().splitlines()) == 2
