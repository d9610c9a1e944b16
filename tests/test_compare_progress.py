"""Scripted ``wb.compare(...)`` shows a rich bar of (model, fold) tasks in a terminal or a
notebook (default), nothing in a log, and none at all with ``progress=False``."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import workbench as wb
from workbench.api import progressbar
from workbench.errors import ParamError

SMALL = "synthetic n_users=40 n_items=30 n_interactions=500 seed=1"
ARGS = (SMALL, "kfold n_folds=2", ["biases", "global-mean"], ["rmse"])


@pytest.fixture
def terminal(monkeypatch) -> io.StringIO:
    """stderr as a terminal: the bar's console writes here."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    monkeypatch.setattr(progressbar, "wanted_console", lambda progress: console)
    return out


def test_bar_in_a_terminal_by_default(terminal):
    results = wb.compare(*ARGS)
    shown = terminal.getvalue()
    assert "compare models x folds" in shown and "4/4" in shown
    assert len(results.runs) == 4


def test_off_with_an_argument(terminal, capsys):
    first = wb.compare(*ARGS, progress=False)
    assert terminal.getvalue() == "" and capsys.readouterr().err == ""
    # the same scores with or without a bar
    again = wb.compare(*ARGS)
    assert first.scores["value"].tolist() == again.scores["value"].tolist()


def test_nothing_in_a_log(capsys):
    wb.compare(*ARGS)  # pytest's captured stderr is not a terminal
    assert "models x folds" not in capsys.readouterr().err


def test_a_bad_value_is_one_error():
    with pytest.raises(ParamError, match="progress must be True, False or a Progress"):
        wb.compare(*ARGS, progress="yes")
