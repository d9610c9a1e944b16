"""The run folder's lock across processes: a second writer is refused, and a holder killed
with SIGKILL leaves no stale lock behind (what `RunFolder.lock` must keep; docs/workflows.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from workbench.errors import WorkbenchError
from workbench.experiments.runfolder import RunFolder

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the lock is POSIX flock")

HOLD = (
    "import sys, time\n"
    "from workbench.experiments.runfolder import RunFolder\n"
    "folder = RunFolder(sys.argv[1])\n"
    "folder.lock()\n"
    "print('locked', flush=True)\n"
    "time.sleep(120)\n"
)


def test_second_process_refused_and_kill_9_leaves_no_stale_lock(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(WorkbenchError, match="in use by another running comparison"):
            RunFolder(tmp_path).lock()
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    assert (tmp_path / ".lock").exists()  # the file stays; the kernel dropped the lock
    folder = RunFolder(tmp_path)
    folder.lock()
    folder.unlock()
