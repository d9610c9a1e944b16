"""Reports of searches (issue 26): pruned candidates say "pruned (after fold N, score S)",
the progress counts their folds that never run, `workbench report` works on a finished TPE
folder and on a nested-CV folder, the HTML report has a tuning section (parameters per
candidate, the best highlighted, score by parameter, best so far), and in a log a nested
search prints one line per inner search naming its outer fold instead of frozen bars."""

from __future__ import annotations

import re

import pytest
from cli_helpers import cli
from test_experiment import Toy, _Plugin

from workbench.experiments.runner import Progress
from workbench.plugins import load_plugins, set_loaded
from workbench.search.nested import nested_tune
from workbench.search.tuning import tune
from workbench.testing import low_rank_ratings

optuna = pytest.importorskip("optuna")

SPACE = {"shrink": "0.01:1e6:log", "n_factors": "1:3"}


@pytest.fixture(autouse=True)
def plugins():
    set_loaded(load_plugins(extra=[("toy", _Plugin)]))
    Toy.fits.clear()
    Toy.armed = True
    yield
    set_loaded(None)


class Counting(Progress):
    def __init__(self) -> None:
        self.total = self.done = self.skipped_n = 0

    def start(self, total: int, done: int) -> None:
        self.total, self.done = total, done

    def task_finished(self, record) -> None:
        self.done += 1

    def skipped(self, n: int) -> None:
        self.skipped_n += n


@pytest.fixture(scope="module")
def tpe_run(tmp_path_factory):
    set_loaded(load_plugins(extra=[("toy", _Plugin)]))
    run = tmp_path_factory.mktemp("tpe") / "run"
    counting = Counting()
    data = low_rank_ratings(n_users=60, n_items=40, density=0.3, seed=1)
    tune(data, "kfold n_folds=3", "toy-test n_epochs=1", SPACE, "rmse", search="tpe",
         n_iter=10, seed=0, run_dir=run, progress=counting)  # fmt: skip
    set_loaded(None)
    return run, counting


def test_pruned_folds_are_counted_and_explained(tpe_run):
    from workbench.api import load_run

    run, counting = tpe_run
    results = load_run(run)
    pruned = results.metadata["pruned"]
    assert pruned, "the huge-shrinkage candidates are pruned"
    # the bar reaches its total: pruned folds count as done
    assert counting.skipped_n == sum(3 - c["after_fold"] - 1 for c in pruned.values()) > 0
    assert counting.done + counting.skipped_n == counting.total == 30
    reasons = {m["reason"] for m in results.missing_folds() if m["model"] in pruned}
    assert reasons and all(re.fullmatch(r"pruned \(after fold \d, score [\d.e+-]+\)", r)
                           for r in reasons)  # fmt: skip
    assert not any("did not run" in m["reason"] for m in results.missing_folds())


def test_report_on_a_finished_tpe_folder(tpe_run, capsys):
    run, _ = tpe_run
    code, out, err = cli(capsys, "report", run)
    assert code == 0, err
    assert "finish the run" not in out + err
    assert "pruned (after fold" in " ".join((out + err).split())


def test_html_tuning_section(tpe_run):
    from workbench_exporters.html import render_html

    from workbench.api import load_run

    html = render_html(load_run(tpe_run[0]))
    section = re.search(r'<section id="tuning">.*?</section>', html, flags=re.S).group(0)
    head = re.search(r"<thead>.*?</thead>", section, flags=re.S).group(0)
    for column in ("label", "shrink", "n_factors", "rmse (mean)", "status"):
        assert f">{column}<" in head
    assert section.count('class="best-row"') == 1 and "1 ★" in section
    assert "pruned (after fold" in section
    assert 'data-chart="tuning"' in section and section.count("<svg") == 1
    assert ">best so far<" in section and ">shrink<" in section  # the panels' labels


def test_nested_folder_reports_and_logs_one_line_per_search(tmp_path, capsys):
    from workbench.cli.progress import RichProgress

    data = low_rank_ratings(n_users=50, n_items=30, density=0.3, seed=2)
    folder = tmp_path / "nested"
    capsys.readouterr()
    nested_tune(data, "kfold n_folds=2", "toy-test n_epochs=1", {"n_factors": "1,2"}, "rmse",
                outer="kfold n_folds=2", run_dir=folder, progress=RichProgress("tune"))  # fmt: skip
    err = capsys.readouterr().err  # captured: not a terminal, like a log
    lines = [line for line in err.splitlines() if "tasks done" in line]
    assert lines == [f"tune (outer fold {k} of 2): 4/4 (model, fold) tasks done" for k in (1, 2)]
    assert "━" not in err  # no frozen bars
    code, out, err = cli(capsys, "report", folder)
    assert code == 0, err
    assert "Nested cross-validation" in out and "outer rmse" in " ".join(out.split())
    code, _, err = cli(capsys, "report", folder, "--export", "csv")
    assert code != 0 and "inner-1 --export" in err and "Traceback" not in err
