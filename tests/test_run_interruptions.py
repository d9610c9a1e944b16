"""`compare` stopped from outside: SIGTERM, a full disk, the file-size limit (issue 22).

Each keeps the finished results, says what happened in one line and leaves no process
behind; a later ``--resume`` finishes the run."""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.experiments.runfolder import RunFolder

WORKBENCH = str(Path(sys.executable).with_name("workbench"))
SMALL = "synthetic n_users=200 n_items=100 n_interactions=3000"


def _compare(run: Path, *extra: str) -> list[str]:
    return [WORKBENCH, "compare", "-d", SMALL, "-s", "kfold n_folds=5", "-m", "biases",
            "--metric", "rmse", "--run-dir", str(run), "--quiet", *extra]  # fmt: skip


def _valid_lines(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    for line in lines:
        json.loads(line)  # every kept line is a whole record
    return lines


def _resume_finishes(run: Path, kept: list[str], total: int) -> None:
    done = subprocess.run(
        [WORKBENCH, "compare", "--resume", "--run-dir", str(run), "--quiet"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = _valid_lines(run / "results.jsonl")
    assert lines[: len(kept)] == kept and len(lines) == total


@pytest.mark.slow
@pytest.mark.parametrize("quiet", [True, False], ids=["quiet", "progress"])
def test_sigterm_to_a_parallel_compare_stops_its_workers(tmp_path: Path, quiet: bool):
    psutil = pytest.importorskip("psutil")
    run = tmp_path / "run"
    args = [WORKBENCH, "compare", "-d", "synthetic n_users=300 n_items=200 n_interactions=9000",
            "-s", "kfold n_folds=4", "-m", "sgd n_epochs=150 n_factors=30", "--metric", "rmse",
            "--run-dir", str(run), "--jobs", "2"] + (["--quiet"] if quiet else [])  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = run / "results.jsonl"
    deadline = time.time() + 180
    while time.time() < deadline and not (results.exists() and results.read_text().strip()):
        time.sleep(0.05)
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)  # hung while orphaned workers held the pipes
    if proc.returncode == 0:
        pytest.skip("the run finished before SIGTERM arrived")
    assert proc.returncode == 143, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted: ") and "--resume" in last, err
    assert "Traceback" not in err
    assert children, "the parallel run started no worker processes"
    time.sleep(0.5)
    alive = []
    for child in children:
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    for pid in alive:  # do not leave them running if the test fails
        os.kill(pid, signal.SIGKILL)
    assert alive == []
    kept = _valid_lines(results)
    assert 1 <= len(kept) < 4


def _no_larger_files(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_file_size_limit_during_compare_is_one_line(tmp_path: Path, jobs: str):
    run = tmp_path / "run"
    done = subprocess.run(  # per-user files off: the limit must hit results.jsonl
        _compare(run, "--jobs", jobs, "--no-per-user"), capture_output=True, text=True,
        timeout=300, preexec_fn=_no_larger_files(6000),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == f"error: cannot write {run / 'results.jsonl'}: File too large"
    kept = _valid_lines(run / "results.jsonl")  # the record that did not fit is cut off
    assert 1 <= len(kept) < 5
    _resume_finishes(run, kept, 5)


def test_full_disk_during_compare_is_one_line(tmp_path: Path):
    """A 12 KiB tmpfs as the run folder's disk (mounted in a user namespace)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare to mount a small tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    run = disk / "run"
    script = (
        f"mount -t tmpfs -o size=12k tmpfs {disk} || exit 77; "
        f"{' '.join(map(_quote, _compare(run, '--no-per-user')))}; code=$?; "
        f"cp -r {run} {tmp_path / 'copy'}; exit $code"
    )
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if done.returncode == 77 or "unshare:" in done.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()[:200]}")
    assert done.returncode == 1, done.stderr
    message = f"error: cannot write {run / 'results.jsonl'}: No space left on device"
    assert done.stderr.strip() == message
    copy = tmp_path / "copy"
    kept = _valid_lines(copy / "results.jsonl")
    assert 1 <= len(kept) < 5
    _resume_finishes(copy, kept, 5)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def test_a_failed_append_is_cut_back_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = RunFolder(tmp_path)
    folder.append({"model": "a", "fold": 0, "error": None})
    before = folder.results_path.read_bytes()
    real_write = os.write

    def half_then_full(fd: int, data: bytes) -> int:
        if len(data) > 8:
            return real_write(fd, bytes(data[:8]))  # a partial write, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(WorkbenchError) as info:
        folder.append({"model": "a", "fold": 1, "error": None, "pad": "x" * 100})
    monkeypatch.undo()
    assert str(info.value) == f"cannot write {folder.results_path}: No space left on device"
    assert folder.results_path.read_bytes() == before
    assert [r["fold"] for r in folder.records()] == [0]
