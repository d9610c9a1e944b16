"""Scaling out: the Spark hand-off (Arrow vs Parquet at 10M interactions) and one comparison
run locally, on a local Dask cluster and with ``spark-als`` in ``local[*]``.

    python -m benchmarks.bench_spark handoff [--rows 10000000] [--runs 2]
    python -m benchmarks.bench_spark compare [--runs 1]     # needs WORKBENCH_DATA_DIR

``handoff`` times `workbench_spark.handoff.to_spark` plus one aggregation that makes Spark
read every row (Parquet is read lazily), alternating arrow, parquet, arrow, parquet... and
prints the medians and their ratio. ``compare`` times the same ML-100k comparison (the five
anchor folds, models ``biases`` and ``sgd``, rmse + ndcg@10) with ``jobs=2`` on local
processes, on a 2-worker ``dask.distributed`` LocalCluster, and ``spark-als`` alone in
``local[*]`` (figures in docs/scaling.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np


def _session(memory: str) -> object:
    from pyspark.sql import SparkSession
    from workbench_spark.session import ensure_local_ip

    ensure_local_ip()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers with pyarrow
    session = (
        SparkSession.builder.master("local[*]")
        .config("spark.driver.memory", memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def handoff(rows: int, runs: int) -> None:
    from pyspark.sql import functions as F
    from workbench_spark.handoff import to_spark

    rng = np.random.default_rng(0)
    user = rng.integers(0, rows // 100, rows, dtype=np.int32)
    item = rng.integers(0, 20_000, rows, dtype=np.int32)
    value = rng.integers(1, 6, rows).astype(np.float32)
    spark = _session("6g")
    for how in ("arrow", "parquet"):  # warm-up: the JVM's first jobs are slower
        frame, path = to_spark(spark, user[:100_000], item[:100_000], value[:100_000], how=how)
        frame.agg(F.sum("rating")).collect()
        if path is not None:
            path.unlink(missing_ok=True)
    times: dict[str, list[float]] = {"arrow": [], "parquet": []}
    for _ in range(runs):
        for how in ("arrow", "parquet"):
            started = time.perf_counter()
            frame, path = to_spark(spark, user, item, value, how=how)  # type: ignore[arg-type]
            total = frame.agg(F.sum("rating"), F.max("user"), F.max("item")).collect()[0]
            seconds = time.perf_counter() - started
            if path is not None:
                path.unlink(missing_ok=True)
            assert int(total[0]) == int(value.sum(dtype=np.float64))
            times[how].append(seconds)
            print(f"{how:8s} {rows:,} rows: {seconds:.2f} s", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"median arrow {med['arrow']:.2f} s, parquet {med['parquet']:.2f} s, "
        f"parquet/arrow = {med['parquet'] / med['arrow']:.2f}"
    )


def compare(runs: int) -> None:
    from distributed import LocalCluster

    import workbench as wb
    from benchmarks.anchor_folds import anchor_splits

    splits = anchor_splits()
    data = splits[0].train
    models = ["biases", "sgd"]
    metrics = ["rmse", "ndcg@10"]
    results: dict[str, list[float]] = {"local jobs=2": [], "dask 2 workers": [], "spark-als": []}
    with LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        for _ in range(runs):
            started = time.perf_counter()
            wb.compare(data, splits, models, metrics, jobs=2)
            results["local jobs=2"].append(time.perf_counter() - started)
            print(f"local jobs=2: {results['local jobs=2'][-1]:.1f} s", flush=True)
            started = time.perf_counter()
            wb.compare(
                data, splits, models, metrics, backend="dask", scheduler=cluster.scheduler_address
            )
            results["dask 2 workers"].append(time.perf_counter() - started)
            print(f"dask 2 workers: {results['dask 2 workers'][-1]:.1f} s", flush=True)
    _session("2g")  # started outside the timing, as a long-lived session would be
    for _ in range(runs):
        started = time.perf_counter()
        out = wb.compare(data, splits, ["spark-als n_factors=10"], metrics)
        results["spark-als"].append(time.perf_counter() - started)
        print(f"spark-als local[*]: {results['spark-als'][-1]:.1f} s", flush=True)
    print(out.scores.groupby(["model", "metric"])["value"].mean())
    for key, values in results.items():
        print(f"{key:16s} median {statistics.median(values):.1f} s over {len(values)} run(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["handoff", "compare"])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if args.what == "handoff":
        handoff(args.rows, args.runs)
    else:
        compare(args.runs)


if __name__ == "__main__":
    main()
