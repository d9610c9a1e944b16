"""Our CSV load against pyarrow's ``read_csv``, each run in a fresh process (A B A B).

The way a user loads a file: nothing kept from an earlier load (memory pools, pages), the
imports outside the timing. The first pair warms the page cache and numba's cache and is
not counted. Run::

    .venv/bin/python -m benchmarks.csv_fresh PATH [RUNS]
"""

import json
import os
import statistics
import subprocess
import sys

OURS = r"""
import sys, time, json, resource
from workbench.experiments.loading import load_dataset
from workbench.plugins import get_registry
get_registry(); import workbench_datasets.table, workbench_datasets._numeric_text_kernels as k
r0 = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter()
load_dataset({"name": "tabular", "path": sys.argv[1]})
s = time.perf_counter() - t
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"s": s, "sys": r1.ru_stime - r0.ru_stime}))
"""
THEIRS = r"""
import sys, time, json, resource
import pyarrow.csv as pacsv
r0 = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter(); pacsv.read_csv(sys.argv[1]); s = time.perf_counter() - t
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"s": s, "sys": r1.ru_stime - r0.ru_stime}))
"""


def main() -> None:
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    res: dict[str, list[dict]] = {"ours": [], "pyarrow": []}
    for _ in range(runs + 1):
        for name, code in (("ours", OURS), ("pyarrow", THEIRS)):
            out = subprocess.run(
                [sys.executable, "-c", code, path], capture_output=True, text=True, check=True
            )
            res[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    for name in res:
        res[name] = res[name][1:]  # the first pair warms the page cache and numba's cache
    med = {k: statistics.median(r["s"] for r in v) for k, v in res.items()}
    for k, v in res.items():
        print(k, f"median {med[k]:.3f}", [f"{r['s']:.3f} (sys {r['sys']:.2f})" for r in v])
    pairs = zip(res["ours"], res["pyarrow"], strict=True)
    paired = statistics.median(a["s"] / b["s"] for a, b in pairs)
    print(f"ratio {med['ours'] / med['pyarrow']:.2f}; paired {paired:.2f}; "
          f"load {os.getloadavg()}")  # fmt: skip


if __name__ == "__main__":
    main()
