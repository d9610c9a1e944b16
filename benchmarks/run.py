"""The benchmark suite: ``python -m benchmarks.run [--full] [SUITE ...]`` (``make bench``,
``make bench-full``).

Runs the registered suites (`benchmarks.suites`: accuracy, accuracy_mf, speed, als, torch,
sgd_scaling, scale, and any ``benchmarks/suite_*.py`` another plugin adds), writes each
suite's records to ``benchmarks/results/<suite>.json`` with the machine and library
versions, and regenerates
``docs/benchmarks.md`` from every JSON file there. Quick mode (the default) takes minutes;
``--full`` all five folds, 1M/10M-rating speed runs and a 10M-row loading run. ``scale100m``
runs only when named (``--append`` adds a run of some of its steps to the stored results,
see `benchmarks.suite_scale`). The reference libraries are the optional dependency group ``bench``
(``pip install -e ".[bench]"``); one that is missing is reported, not hidden.

Older single-purpose scripts (bench_loading, bench_evaluation, bench_sgd, anchor_folds) still
run on their own with ``python -m benchmarks.<name>``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.suites import ROOT, Context, load_suites

RESULTS = ROOT / "benchmarks" / "results"


def machine() -> dict[str, Any]:
    """CPU, cores, memory, load and the versions of Python and the libraries involved."""
    from benchmarks import refs

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(x.split(":", 1)[1].strip() for x in fh if x.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = None
    versions = {
        p: refs.version(p) for p in ("numpy", "numba", "pandas", "pyarrow", "scipy")
    }
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem,
        "python": platform.python_version(), "platform": platform.platform(),
        "versions": versions, "references": refs.library_status(),
        "loadavg_before": os.getloadavg(),
    }  # fmt: skip


def run_suite(name: str, ctx: Context, out_dir: Path, append: bool = False) -> Path:
    """Run suite ``name`` and write ``out_dir/<name>.json``; with ``append`` the records are
    added to that file's (each marked with the run's time; the run listed under
    ``appended``) instead of replacing them: for steps measured apart (a 100M step)."""
    suites = load_suites()
    started = time.perf_counter()
    loadavg = os.getloadavg()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"\n=== {name} ({ctx.mode})", flush=True)
    records = suites[name](ctx)
    seconds = time.perf_counter() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    if append and path.exists():
        payload = json.loads(path.read_text())
        payload["records"] += [{**r, "run": when} for r in records]
        payload.setdefault("appended", []).append(
            {"when": when, "mode": ctx.mode, "seconds": seconds, "loadavg_before": loadavg})
    else:
        payload = {"suite": name, "mode": ctx.mode, "when": when, "seconds": seconds,
                   "machine": {**machine(), "loadavg_before": loadavg},
                   "records": records}  # fmt: skip
    path.write_text(json.dumps(payload, indent=1, default=float))
    return path


def main(argv: list[str] | None = None) -> int:
    from benchmarks.suite_scale import ON_REQUEST

    suites = load_suites()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", help=f"which to run ({', '.join(suites)})")
    parser.add_argument("--full", action="store_true", help="the long versions")
    parser.add_argument("--tiny", action="store_true", help="tiny data: checks that it runs")
    parser.add_argument("--repeat", type=int, default=3, help="alternated runs per timing")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--append", action="store_true",
                        help="add the records to the suite's existing JSON (steps run apart)")
    parser.add_argument("--docs", default=str(ROOT / "docs" / "benchmarks.md"),
                        help="the generated page (--docs '' to skip)")  # fmt: skip
    args = parser.parse_args(argv)
    unknown = [n for n in args.suites if n not in suites]
    if unknown:
        parser.error(f"unknown suite {unknown[0]!r}; choose from {', '.join(suites)}")
    ctx = Context(quick=not args.full, tiny=args.tiny, repeat=args.repeat)
    names = args.suites or [n for n in suites if n not in ON_REQUEST]
    failed = 0
    for name in names:
        try:
            run_suite(name, ctx, args.results, append=args.append)
        except Exception as exc:  # one failing suite does not lose the others' results
            print(f"suite {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed += 1
    if args.docs:
        from benchmarks.report import write_report

        write_report(args.results, Path(args.docs))
        print(f"wrote {args.docs}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
