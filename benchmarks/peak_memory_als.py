"""Peak memory (max RSS) of one implicit-ALS fit on the synthetic set, ours or ``implicit``'s.

Run it under a fresh process per library (the figure is the process's high-water mark,
synthetic data included)::

    .venv/bin/python -m benchmarks.peak_memory_als --lib ours --n 10000000
    .venv/bin/python -m benchmarks.peak_memory_als --lib implicit --n 10000000
"""

from __future__ import annotations

import argparse
import resource
import time

from benchmarks.bench_als import synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", choices=["ours", "implicit", "none"], default="ours")
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from workbench_als import solvers

    conf = solvers.with_confidence(solvers.clean_csr(synthetic(args.n)), 1.0, "linear", 1.0)
    data_only = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    if args.lib == "ours":
        from workbench.threads import limited_threads

        cfg = solvers.ImplicitConfig(
            n_factors=args.factors, n_iterations=args.iterations, compute_loss=False
        )
        with limited_threads(args.threads):
            solvers.fit_implicit(conf, cfg)
    elif args.lib == "implicit":
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        model = AlternatingLeastSquares(
            factors=args.factors, iterations=args.iterations, regularization=0.1,
            num_threads=args.threads, random_state=0,
        )
        with threadpool_limits(1, "blas"):
            model.fit(conf, show_progress=False)
    seconds = (time.perf_counter() - started) / args.iterations
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.lib:8s} n={conf.nnz:,d}: {seconds:.2f} s/it, peak RSS {peak:.0f} MiB "
          f"(after building the data: {data_only:.0f} MiB)", flush=True)


if __name__ == "__main__":
    main()
