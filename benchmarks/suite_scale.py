"""Scale on one machine: loading (against pyarrow's own CSV read), and at up to 100M
interactions the time and peak memory of loading, sgd epochs, ``ials`` and ``als``
iterations, recommend for every user and the full-catalogue ranking evaluation of all users.

``scale`` (full mode: 10M rows; quick: 1M) times our CSV load against ``pyarrow.csv.read_csv``
of the same file, alternated in one process, and measures peak memory of CSV and Parquet
loads in fresh processes. ``scale100m`` (run on its own: ``python -m benchmarks.run
scale100m``; about half an hour on 2 cores) does every step at ``BENCH_SCALE_ROWS`` (default
100M) in child processes that give up when the machine's available memory drops under 6 GiB:
the loads, then one process per model group (``BENCH_SCALE_STEPS``, default
``loads,sgd,ials,als``; ``BENCH_SCALE_PARQUET`` names an existing Parquet file to use instead
of writing one). The ``sgd`` and ``ials`` processes also recommend for every user and evaluate
the full-catalogue ranking with their last model; ``als`` only fits.
``load100m`` (on its own too; a few minutes) repeats only the 100M loads, on files from the
chunked synthetic generator.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.suites import ROOT, Context, Record, suite

GiB = 2**30
MIN_AVAILABLE = 6 * GiB

_CHILD = r"""
import json, os, sys, threading, time
MIN_AVAILABLE = int(sys.argv[2])

def meminfo(key):
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

def guard():
    while True:
        if meminfo("MemAvailable") < MIN_AVAILABLE:
            print(json.dumps({"aborted": "available memory under the floor",
                              "available_gb": meminfo("MemAvailable") / 2**30}), flush=True)
            os._exit(3)
        time.sleep(0.5)

threading.Thread(target=guard, daemon=True).start()
task = json.loads(sys.argv[1])
from benchmarks.suite_scale import child_steps
for record in child_steps(task, status):
    print(json.dumps(record), flush=True)
"""


def run_child(
    task: dict[str, Any], timeout: float = 3600, progress: Path | None = None
) -> list[Record]:
    """Run ``task`` in a fresh process; its records (one JSON line each), also appended to
    ``progress`` as they arrive (a long run stopped early keeps what it measured)."""
    records: list[Record] = []
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, json.dumps(task), str(MIN_AVAILABLE)],
            stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                records.append(json.loads(line))
                if progress is not None:
                    with progress.open("a") as fh:
                        fh.write(line)
            if time.monotonic() > deadline:
                proc.kill()
                records.append({"error": f"stopped after {timeout:.0f} s"})
                break
        code = proc.wait()
        if code != 0 and not any("aborted" in r or "error" in r for r in records):
            err.seek(0)
            tail = err.read().strip().splitlines()[-1:] or ["no output"]
            records.append({"error": f"exit {code}: {tail[0]}"})
    return records


def _final_bytes(data: Any) -> int:
    arrays = [data.user, data.item, data.value]
    if data.timestamp is not None:
        arrays.append(data.timestamp)
    return sum(a.nbytes for a in arrays)


def child_steps(task: dict[str, Any], status: Any):
    """The steps of one child process (yields one record per step)."""
    from workbench.experiments.loading import load_dataset
    from workbench.plugins import get_registry

    get_registry()
    import workbench_datasets.table  # noqa: F401  (imports outside the timings)

    base = status("VmRSS")
    step = task["step"]

    def memory() -> dict[str, float]:
        """Peak resident memory over the imports, and the process's max RSS (VmHWM)."""
        return {"peak_gb": (status("VmHWM") - base) / GiB, "max_rss_gb": status("VmHWM") / GiB}

    if step == "load":
        started = time.perf_counter()
        data = load_dataset({"name": "tabular", "path": task["path"]})
        seconds = time.perf_counter() - started
        peak = status("VmHWM") - base
        final = _final_bytes(data)
        yield {"step": f"load {task['format']}", "rows": len(data), "seconds": seconds,
               "final_gb": final / GiB, "peak_over_final": peak / final, **memory()}
        return
    # model steps: data from Parquet (or synthetic), then sgd epochs, recommend, evaluate
    started = time.perf_counter()
    data = load_dataset({"name": "tabular", "path": task["path"]})
    yield {"step": "load parquet", "rows": len(data), "seconds": time.perf_counter() - started,
           **memory()}
    from workbench.evaluation import evaluate
    from workbench.experiments.resolve import resolve_metrics, resolve_models
    from workbench.protocol import EvaluationProtocol
    from workbench.splits import Split

    test_rows = np.random.default_rng(0).random(len(data)) < task.get("test_fraction", 0.01)
    split = Split(train=data.subset(~test_rows), test=data.subset(test_rows), fold=0)
    del data, test_rows
    model = None
    for spec in task["models"]:
        epochs: list[float] = []
        model = resolve_models([spec])[0].model
        started = time.perf_counter()
        model.fit(split.train, callback=lambda info, e=epochs: e.append(info.seconds))
        yield {"step": f"fit {spec}", "rows": len(split.train),
               "seconds": time.perf_counter() - started, "epoch_s": epochs, **memory()}
    if not task.get("rank", True):
        return
    label = task["models"][-1]
    n_users = split.train.n_users
    sample = task.get("sample_users")
    users = np.arange(n_users)
    if sample and sample < n_users:  # a seeded sample; the time scales with the user count
        users = np.sort(np.random.default_rng(1).choice(n_users, sample, replace=False))
        keep = np.isin(split.test.user, users)
        split = Split(train=split.train, test=split.test.subset(keep), fold=0)
    share, sampled = n_users / len(users), len(users) < n_users
    started = time.perf_counter()
    model.recommend(users, 10)
    seconds = time.perf_counter() - started
    yield {"step": f"recommend top 10 (full catalogue): {label}", "rows": len(users),
           "seconds": seconds, "all_users_s": seconds * share, "all_users": n_users,
           "sampled": sampled, **memory()}
    started = time.perf_counter()
    names = task.get("metrics", ["ndcg@10", "precision@10", "rmse"])
    result = evaluate(model, split, resolve_metrics(names, split.train), EvaluationProtocol())
    seconds = time.perf_counter() - started
    yield {"step": f"evaluate: ranking over the full catalogue: {label}",
           "rows": len(split.test), "seconds": seconds, "all_users_s": seconds * share,
           "all_users": n_users, "sampled": sampled, **memory(),
           "scores": dict(result.scores)}


def write_files(folder: Path, n_rows: int) -> dict[str, Path]:
    """A ratings.csv (header, shuffled rows, half-star ratings, timestamps) and the same as
    Parquet: users and items shaped like Netflix's (480k x 17.8k) at 100M."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    n_users = max(100, int(480_189 * n_rows / 100_000_000))
    n_items = max(50, int(17_770 * min(1.0, (n_rows / 100_000_000) ** 0.5)))
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, n_users * n_items, int(n_rows * 1.03)))
    keys = keys[rng.permutation(len(keys))[:n_rows]]
    user, item = keys // n_items + 1, keys % n_items + 1
    del keys
    table = pa.table({
        "userId": user, "movieId": item, "rating": rng.integers(1, 11, len(user)) / 2,
        "timestamp": rng.integers(978_307_200, 1_136_073_600, len(user)),
    })  # fmt: skip
    del user, item
    paths = {"csv": folder / "ratings.csv", "parquet": folder / "ratings.parquet"}
    pacsv.write_csv(table, paths["csv"], pacsv.WriteOptions(quoting_style="none"))
    pq.write_table(table, paths["parquet"])
    return paths


def csv_vs_pyarrow(path: Path, repeat: int) -> Record:
    """Our CSV load against pyarrow's read of the same file, alternated in one process."""
    import pyarrow.csv as pacsv

    from workbench.experiments.loading import load_dataset

    def ours() -> float:
        started = time.perf_counter()
        load_dataset({"name": "tabular", "path": str(path)})
        return time.perf_counter() - started

    def theirs() -> float:
        started = time.perf_counter()
        pacsv.read_csv(path)
        return time.perf_counter() - started

    first = {"ours": ours(), "pyarrow": theirs()}  # warm-up: page cache, numba cache load
    times: dict[str, list[float]] = {"ours": [], "pyarrow": []}
    for _ in range(repeat):
        times["ours"].append(ours())
        times["pyarrow"].append(theirs())
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"kind": "loading", "file": path.name, "ours_s": med["ours"],
            "pyarrow_s": med["pyarrow"], "ratio": med["ours"] / med["pyarrow"],
            "ours_first_s": first["ours"], "runs": repeat,
            "ours_runs_s": [round(t, 3) for t in times["ours"]],
            "pyarrow_runs_s": [round(t, 3) for t in times["pyarrow"]],
            "target": "ours <= 1.5 x pyarrow"}  # fmt: skip


@suite("scale")
def scale(ctx: Context) -> list[Record]:
    n_rows = 20_000 if ctx.tiny else 1_000_000 if ctx.quick else 10_000_000
    records: list[Record] = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_files(Path(tmp), n_rows)
        rec = csv_vs_pyarrow(paths["csv"], ctx.repeat)
        rec["rows"] = n_rows
        records.append(rec)
        print(f"  {n_rows:,} rows CSV: ours {rec['ours_s']:.2f} s, pyarrow "
              f"{rec['pyarrow_s']:.2f} s (x{rec['ratio']:.2f})", flush=True)
        for fmt in ("csv", "parquet"):
            for r in run_child({"step": "load", "path": str(paths[fmt]), "format": fmt}):
                records.append({"kind": "scale", **r})
                print(f"  {r}", flush=True)
    return records


#: The model processes of ``scale100m``: name -> (models fitted in one fresh process, in
#: order; whether the last one recommends and evaluates; the metrics it is evaluated on).
MODEL_STEPS: dict[str, tuple[list[str], bool, list[str]]] = {
    "sgd": (["sgd n_epochs=1 shuffle=blocked", "sgd n_epochs=1 n_threads=2"], True,
            ["ndcg@10", "precision@10", "rmse"]),
    "ials": (["ials n_iterations=2 n_threads=2"], True, ["ndcg@10", "precision@10"]),
    "als": (["als n_iterations=2 n_threads=2"], False, []),
}  # fmt: skip


def scale_100m(
    n_rows: int, folder: Path, steps: list[str], parquet: Path | None = None,
    models: dict[str, list[str]] | None = None,
) -> list[Record]:
    """The ``steps`` ("loads" and `MODEL_STEPS` names) at ``n_rows`` rows (files kept in
    ``folder`` between runs; ``parquet``: an existing file for the model steps)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"csv": folder / "ratings.csv", "parquet": folder / "ratings.parquet"}
    needs_files = "loads" in steps or parquet is None
    if needs_files and not all(p.exists() for p in paths.values()):
        started = time.perf_counter()
        write_files(folder, n_rows)
        print(f"  wrote the files in {time.perf_counter() - started:.0f} s", flush=True)
    records: list[Record] = []
    progress = folder / "progress.jsonl"
    data = f"{n_rows:,} rows" + (f" ({parquet.name})" if parquet else "")
    formats = os.environ.get("BENCH_SCALE_LOADS", "parquet,csv").split(",")
    for fmt in [f for f in formats if f and "loads" in steps]:
        task = {"step": "load", "path": str(paths[fmt]), "format": fmt}
        for r in run_child(task, progress=progress):
            records.append({"kind": "scale", "data": data, **r})
            print(f"  {r}", flush=True)
    for name in [s for s in steps if s in MODEL_STEPS]:
        specs, rank, metrics = MODEL_STEPS[name]
        task = {"step": "models", "path": str(parquet or paths["parquet"]),
                "models": (models or {}).get(name, specs), "rank": rank, "metrics": metrics,
                "sample_users": int(os.environ.get("BENCH_SCALE_SAMPLE_USERS", 0)) or None}
        for r in run_child(task, timeout=7200, progress=progress):
            records.append({"kind": "scale", "data": data, **r})
            print(f"  {r}", flush=True)
    records.append({"kind": "machine_load", "loadavg": os.getloadavg()})
    return records


@suite("scale100m")
def scale100m(ctx: Context) -> list[Record]:
    n_rows = 20_000 if ctx.tiny else int(os.environ.get("BENCH_SCALE_ROWS", 100_000_000))
    folder = Path(os.environ.get("BENCH_SCALE_DIR", tempfile.gettempdir())) / f"bench-{n_rows}"
    steps = os.environ.get("BENCH_SCALE_STEPS", "loads,sgd,ials,als").split(",")
    parquet = os.environ.get("BENCH_SCALE_PARQUET")
    models = None
    if os.environ.get("BENCH_SCALE_MODELS"):  # other sgd settings (one process, ";"-separated)
        models = {"sgd": os.environ["BENCH_SCALE_MODELS"].split(";")}
    if ctx.tiny:  # the smoke test: one iteration each
        models = {"sgd": ["sgd n_epochs=1"], "ials": ["ials n_iterations=1"],
                  "als": ["als n_iterations=1"]}  # fmt: skip
    return scale_100m(n_rows, folder, steps, Path(parquet) if parquet else None, models)


def write_synthetic(folder: Path, n_rows: int) -> dict[str, Path]:
    """``synth<rows>.parquet`` and ``.csv`` (``synth100m`` at 100M rows) from the chunked
    synthetic generator, Netflix-shaped at 100M (480,189 users x 17,770 items; seed 0):
    userId, movieId, rating (float64), timestamp (int64 seconds), rows by user. Kept in
    ``folder`` and reused (other jobs may read them)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from workbench.experiments.loading import load_dataset

    tag = "100m" if n_rows == 100_000_000 else str(n_rows)
    paths = {"parquet": folder / f"synth{tag}.parquet", "csv": folder / f"synth{tag}.csv"}
    if all(p.exists() for p in paths.values()):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    n_users = max(2_000, int(480_189 * n_rows / 100_000_000))
    n_items = max(50, int(17_770 * min(1.0, (n_rows / 100_000_000) ** 0.5)))
    data = load_dataset("synthetic", n_users=n_users, n_items=n_items,
                        n_interactions=n_rows, seed=0)  # fmt: skip
    table = pa.table({
        "userId": data.users.id_of(data.user), "movieId": data.items.id_of(data.item),
        "rating": data.value.astype(np.float64), "timestamp": data.timestamp,
    })  # fmt: skip
    del data
    for fmt, path in paths.items():
        part = path.with_name(path.name + ".part")
        if fmt == "parquet":
            pq.write_table(table, part)
        else:
            pacsv.write_csv(table, part, pacsv.WriteOptions(quoting_style="none"))
        part.replace(path)
    return paths


@suite("load100m")
def load100m(ctx: Context) -> list[Record]:
    """Time and peak memory of loading 100M rows (``BENCH_SCALE_ROWS``) from Parquet and CSV,
    each in fresh processes, formats alternated, ``ctx.repeat`` times each; the files come
    from the chunked synthetic generator into ``BENCH_SCALE_DIR`` (kept for reuse)."""
    n_rows = 20_000 if ctx.tiny else int(os.environ.get("BENCH_SCALE_ROWS", 100_000_000))
    folder = Path(os.environ.get("BENCH_SCALE_DIR", tempfile.gettempdir()))
    started = time.perf_counter()
    paths = write_synthetic(folder, n_rows)
    print(f"  files ready in {time.perf_counter() - started:.0f} s", flush=True)
    records: list[Record] = []
    for _ in range(ctx.repeat):
        for fmt in ("parquet", "csv"):
            task = {"step": "load", "path": str(paths[fmt]), "format": fmt}
            for r in run_child(task):
                records.append({"kind": "scale", "data": f"{n_rows:,} rows (synthetic)", **r})
                print(f"  {r}", flush=True)
    records.append({"kind": "machine_load", "loadavg": os.getloadavg()})
    return records


#: Suites that run only when named (too long for ``make bench``).
ON_REQUEST = {"scale100m", "load100m"}
