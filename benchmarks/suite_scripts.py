"""The model plugins' own benchmark scripts as suites (``python -m benchmarks.run torch als``;
part of ``make bench``): each runs in a subprocess (quick options unless
``--full``), and its exit status, duration and the end of its output are recorded in a
``script`` record. A script that writes JSON (``--json``) with a ``records`` list has those
records added to the suite's own (rendered by `benchmarks.report`: ``ratio_speed``,
``tutorial_speed``, ``anchor``, ...); other JSON is kept under the script record's
``records``. The full torch run leaves out 10M ratings (several minutes per model on 2
cores): run ``python -m benchmarks.bench_torch`` alone for those.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.suites import ROOT, Context, Record, suite

#: suite name -> (module, quick options, full options, takes --json)
SCRIPTS: dict[str, tuple[str, list[str], list[str], bool]] = {
    "torch": ("benchmarks.bench_torch", ["--quick"], ["--skip-10m"], True),
    "als": ("benchmarks.bench_als", ["--repeats", "1", "--synthetic", "100000"],
            ["--only", "implicit", "--only", "explicit", "--only", "nmf",
             "--only", "implicit-ndcg"], True),
}


def run_script(name: str, ctx: Context) -> list[Record]:
    module, quick, full, has_json = SCRIPTS[name]
    if not (ROOT / (module.replace(".", "/") + ".py")).exists():
        return [{"kind": "script", "script": module, "status": "not present on this branch"}]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        command = [sys.executable, "-m", module, *(full if not ctx.quick else quick)]
        if has_json:
            command += ["--json", str(out)]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        record: Record = {
            "kind": "script", "script": " ".join(command[2:]), "exit": done.returncode,
            "seconds": time.perf_counter() - started,
            "output_tail": (done.stdout + done.stderr).strip().splitlines()[-3:],
        }  # fmt: skip
        found = json.loads(out.read_text()) if out.exists() else None
    if isinstance(found, dict) and isinstance(found.get("records"), list):
        return [record, *found["records"]]
    if found is not None:
        record["records"] = found
    return [record]


for _name in SCRIPTS:
    suite(_name)(lambda ctx, _n=_name: run_script(_n, ctx))
