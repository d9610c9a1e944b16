"""Loading speed and peak memory: a 1M-row '::' file, 10M-row CSVs, MovieLens-100k, synthetic.

    python -m benchmarks.bench_loading            # all cases, 3 runs each, a markdown table
    python -m benchmarks.bench_loading --runs 1 --json results.json

The files are generated in a temporary folder from the synthetic dataset, written the way
MovieLens writes them (``ratings.dat``: ``user::item::rating::timestamp`` sorted by user;
``ratings.csv``: a header, sorted by user then item). A shuffled 10M-row CSV shows the cost
when rows come in no particular order. Each load runs in a fresh process: the time is the
``load_dataset`` call alone, the memory is the process's peak resident set size (and its
growth over the process after imports; VmHWM, since Linux carries ``ru_maxrss`` over
from the parent across exec).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time
from workbench.experiments.loading import load_dataset
from workbench.plugins import get_registry
get_registry()
import workbench_datasets.table, pyarrow.csv  # imports outside the timing

def status_mb(key):
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

before = status_mb("VmRSS")
spec = json.loads(sys.argv[1])
start = time.perf_counter()
data = load_dataset(spec)
seconds = time.perf_counter() - start
peak = status_mb("VmHWM")
print(json.dumps({"seconds": seconds, "peak_mb": peak, "growth_mb": peak - before,
                  "rows": len(data), "users": data.n_users, "items": data.n_items}))
"""


def measure(spec: dict, runs: int) -> dict:
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, json.dumps(spec)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = {
        k: statistics.median(r[k] for r in results) for k in ("seconds", "peak_mb", "growth_mb")
    }
    return {**results[0], **best, "runs": runs}


def write_files(folder: Path) -> dict[str, Path]:
    """ratings.dat (1M rows, '::'), ratings.csv (10M rows) and a shuffled copy."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from workbench.experiments.loading import load_dataset

    paths = {}
    for key, n_rows, n_users, n_items in (("dat", 1_000_000, 6_040, 3_706),
                                          ("csv", 10_000_000, 70_000, 10_000)):  # fmt: skip
        data = load_dataset(
            "synthetic", n_users=n_users, n_items=n_items, n_interactions=n_rows, seed=1
        )
        user = data.users.id_of(data.user)
        item = data.items.id_of(data.item)
        order = np.lexsort((item, user))
        table = pa.table(
            {
                "userId": user[order],
                "movieId": item[order],
                "rating": data.value[order].astype(np.int64)
                if key == "dat"
                else (data.value[order] - 0.5 * (data.item[order] % 2)).clip(0.5),
                "timestamp": data.timestamp[order],
            }
        )
        if key == "dat":
            tmp = folder / "ratings.tmp"
            pacsv.write_csv(
                table,
                tmp,
                pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none"),
            )
            (folder / "ratings.dat").write_bytes(tmp.read_bytes().replace(b"\t", b"::"))
            tmp.unlink()
            paths["dat"] = folder / "ratings.dat"
        else:
            opts = pacsv.WriteOptions(quoting_style="none")
            pacsv.write_csv(table, folder / "ratings.csv", opts)
            shuffled = table.take(np.random.default_rng(0).permutation(table.num_rows))
            pacsv.write_csv(shuffled, folder / "shuffled.csv", opts)
            paths["csv"] = folder / "ratings.csv"
            paths["shuffled"] = folder / "shuffled.csv"
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per case (median reported)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    cases: list[tuple[str, dict]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        paths = write_files(folder)
        print(f"generated the files in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        sizes = {k: p.stat().st_size / 2**20 for k, p in paths.items()}
        cases.append(
            (f"1M-row '::' file ({sizes['dat']:.0f} MB)",
             {"name": "tabular", "path": str(paths["dat"]), "sep": "::"})
        )  # fmt: skip
        cases.append(
            (f"10M-row CSV, sorted like ml-20m ({sizes['csv']:.0f} MB)",
             {"name": "tabular", "path": str(paths["csv"])})
        )  # fmt: skip
        cases.append(
            (f"10M-row CSV, rows shuffled ({sizes['shuffled']:.0f} MB)",
             {"name": "tabular", "path": str(paths["shuffled"])})
        )  # fmt: skip
        real = os.environ.get("WORKBENCH_DATA_DIR")
        if real and (Path(real) / "ml-100k" / "u.data").exists():
            cases.append(
                ("MovieLens-100k (u.data + titles)",
                 {"name": "movielens", "path": str(Path(real) / "ml-100k")})
            )  # fmt: skip
        cases.append(
            ("synthetic, 10M interactions (generated)",
             {"name": "synthetic", "n_users": 70000, "n_items": 10000,
              "n_interactions": 10_000_000})
        )  # fmt: skip
        cases.append(("synthetic, default 100k (generated)", {"name": "synthetic"}))
        rows = []
        for label, spec in cases:
            result = measure(spec, args.runs)
            rows.append({"case": label, "spec": spec, **result})
            print(f"{label}: {result['seconds']:.2f} s, peak {result['peak_mb']:.0f} MB",
                  file=sys.stderr)  # fmt: skip
    print(f"| case | rows | load s | peak RSS MB | growth MB |  (median of {args.runs})")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['rows']:,} | {r['seconds']:.2f} | {r['peak_mb']:.0f} | "
              f"{r['growth_mb']:.0f} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
