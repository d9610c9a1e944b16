"""Speed and memory benchmarks (run with ``make bench``; figures recorded in docs/)."""
