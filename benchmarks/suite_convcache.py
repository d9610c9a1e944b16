"""The converted cache (`workbench_datasets.convcache`): the second load of a CSV through it
against pyarrow's Parquet read of the same data.

``convcache`` (full mode: 10M rows; quick: 1M; tiny: 20k) writes the scale suite's
ratings.csv and ratings.parquet (`benchmarks.suite_scale.write_files`: shuffled rows, a
header, half-star ratings, timestamps), loads the CSV once with ``tabular cache=true`` (the
parse plus writing the copy, into a temporary cache folder), then times the second load
(``load_dataset`` of the same spec: the key, the copy's arrays and id maps, the
`Interactions`) against ``pyarrow.parquet.read_table`` of the Parquet file, alternated
(A B A B ...) in one process after one warm-up of each; medians. Target: ours <= 1.2x.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.suites import Context, Record, suite

TARGET = 1.2


def second_load_vs_parquet(csv: Path, parquet: Path, repeat: int) -> Record:
    """Time the first load (parse + copy), then the cached load against the Parquet read."""
    import pyarrow.parquet as pq

    from workbench.experiments.loading import load_dataset

    spec = {"name": "tabular", "path": str(csv), "cache": True}

    def ours() -> float:
        started = time.perf_counter()
        load_dataset(spec)
        return time.perf_counter() - started

    def theirs() -> float:
        started = time.perf_counter()
        pq.read_table(parquet)
        return time.perf_counter() - started

    first = ours()  # parses the CSV and writes the converted copy
    ours(), theirs()  # warm-up: the page cache
    times: dict[str, list[float]] = {"ours": [], "parquet": []}
    for _ in range(repeat):
        times["ours"].append(ours())
        times["parquet"].append(theirs())
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["ours"] / med["parquet"]
    return {"kind": "converted_cache", "file": csv.name, "first_load_s": first,
            "second_load_s": med["ours"], "parquet_read_s": med["parquet"], "ratio": ratio,
            "ours_all_s": times["ours"], "parquet_all_s": times["parquet"], "runs": repeat,
            "target": f"second load <= {TARGET} x pyarrow.parquet.read_table",
            "met": ratio <= TARGET, "loadavg": list(os.getloadavg())}  # fmt: skip


@suite("convcache")
def convcache(ctx: Context) -> list[Record]:
    from benchmarks.suite_scale import write_files

    n_rows = 20_000 if ctx.tiny else 1_000_000 if ctx.quick else 10_000_000
    saved = os.environ.get("WORKBENCH_CACHE_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WORKBENCH_CACHE_DIR"] = str(Path(tmp) / "cache")
        try:
            paths = write_files(Path(tmp), n_rows)
            rec = second_load_vs_parquet(paths["csv"], paths["parquet"], max(ctx.repeat, 1))
        finally:
            if saved is None:
                os.environ.pop("WORKBENCH_CACHE_DIR", None)
            else:
                os.environ["WORKBENCH_CACHE_DIR"] = saved
    rec["rows"] = n_rows
    print(f"  {n_rows:,} rows: first load {rec['first_load_s']:.2f} s, second "
          f"{rec['second_load_s']:.3f} s, parquet read {rec['parquet_read_s']:.3f} s "
          f"(x{rec['ratio']:.2f})", flush=True)  # fmt: skip
    return [rec]
