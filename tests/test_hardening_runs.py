"""Run folders that were damaged or edited (issue 22): refused in one line naming the line,
before any task runs; `report` never shows a record the run did not configure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import cli

import workbench.api as wb
from workbench.errors import WorkbenchError
from workbench.experiments.runfolder import RunFolder

SYNTH = "synthetic n_users=60 n_items=40 n_interactions=800 seed=1"


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A finished run: 2 models x 4 folds = 8 records."""
    folder = tmp_path / "run"
    wb.compare(
        wb.load_dataset(SYNTH),
        "kfold n_folds=4",
        ["biases", "global-mean"],
        ["rmse"],
        run_dir=folder,
    )
    assert len(RunFolder(folder).records()) == 8
    return folder


def _append(folder: Path, text: str) -> bytes:
    path = folder / "results.jsonl"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
    return path.read_bytes()


def test_resume_with_a_garbage_last_line_fails_before_any_task(run: Path) -> None:
    before = _append(run, "this is not json\n")
    with pytest.raises(WorkbenchError, match=r"results.jsonl: line 9 is not valid JSON"):
        wb.resume_run(run)
    assert (run / "results.jsonl").read_bytes() == before, "no task may run"
    with pytest.raises(WorkbenchError, match="line 9 is not valid JSON"):
        wb.compare(
            wb.load_dataset(SYNTH), "kfold n_folds=4", ["biases", "global-mean"], ["rmse"],
            run_dir=run, resume=True,
        )  # fmt: skip
    assert (run / "results.jsonl").read_bytes() == before, "no task may run"


def test_a_cut_off_last_line_still_reruns_its_task(run: Path) -> None:
    """A line without its newline is what a crash leaves: that task reruns, nothing else."""
    path = run / "results.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]) + lines[-1][:20])
    assert len(RunFolder(run).records()) == 7
    wb.resume_run(run)
    assert len(RunFolder(run).records()) == 8


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "ghost"}, "line 9: model 'ghost' was never configured in this run"),
        ({"fold": 99}, "line 9: fold 99 is outside this run's folds 0..3"),
        ({"fold": "x"}, "line 9: fold 'x' is not a fold number"),
    ],
)
def test_report_refuses_tampered_records(run: Path, capsys, change, message) -> None:
    record = json.loads((run / "results.jsonl").read_text().splitlines()[0])
    _append(run, json.dumps({**record, **change}) + "\n")
    with pytest.raises(WorkbenchError, match=message):
        wb.load_run(run)
    code, out, err = cli(capsys, "report", run)
    assert code == 1
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_line_that_is_not_a_record_is_refused(run: Path) -> None:
    _append(run, "[1, 2]\n")
    with pytest.raises(WorkbenchError, match="line 9: expected a result record"):
        wb.load_run(run)
