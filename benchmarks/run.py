"""Run every benchmark in turn: ``python -m benchmarks.run [--quick]``.

The figures they print are the ones recorded in ``docs/`` (datasets.md, metrics.md,
models.md). Comparisons against other libraries (Surprise, matrix-factorization) need those
installed separately: ``pip install scikit-surprise matrix-factorization``; without them the
SGD benchmark reports our own figures only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

BENCHMARKS = {
    "loading": ["benchmarks.bench_loading", "--runs", "3"],
    "evaluation": ["benchmarks.bench_evaluation"],
    "sgd": ["benchmarks.bench_sgd"],
    "torch": ["benchmarks.bench_torch"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"which to run ({', '.join(BENCHMARKS)})")
    parser.add_argument("--quick", action="store_true", help="short versions where available")
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    failed = 0
    for name in args.names or list(BENCHMARKS):
        command = [sys.executable, "-m", *BENCHMARKS[name]]
        if args.quick and name in ("sgd", "torch"):
            command.append("--quick")
        if args.quick and name == "loading":
            command[-1] = "1"
        print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
        failed += subprocess.call(command) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
