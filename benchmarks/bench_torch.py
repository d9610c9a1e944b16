"""PyTorch models side by side: against a tutorial-style loop, on the anchor folds, at scale.

In one run:

1. speed: seconds per epoch of ``torch-mf`` (defaults, 20 factors) against the loop the
   PyTorch MF tutorials teach (a per-row ``Dataset``, ``DataLoader`` at batch 64, sparse
   embeddings with ``SparseAdam``, 20 factors), on the same 80,000 ratings (the training part
   of anchor fold 0), interleaved A B A B; median seconds per epoch, the ratio, and test RMSE;
2. accuracy: 5-fold RMSE and nDCG@10 on the ML-100k anchor folds (`benchmarks.anchor_folds`)
   of ``torch-mf``, ``torch-mlp`` and ``torch-neumf`` with their defaults, and of the ranking
   settings (BPR, BCE) documented in docs/models.md;
3. scale: seconds per epoch and peak memory (RSS) at 1M and 10M synthetic ratings, each in a
   fresh process.

::

    .venv/bin/python -m benchmarks.bench_torch [--quick] [--skip-10m] [--json out.json]

With ``--json`` the results are also written as flat records (``records``: kinds
"tutorial_speed", "anchor", "torch_scale"), which ``python -m benchmarks.run torch`` keeps in
benchmarks/results/torch.json and `benchmarks.report` renders in docs/benchmarks.md. The
device is whatever ``device=auto`` picks (the script prints it); figures on a GPU need a
machine with one.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from benchmarks.anchor_folds import anchor_splits
from benchmarks.anchor_folds import run as anchor_run
from workbench.data import Interactions

#: The ranking settings recorded in docs/models.md (5-fold anchor nDCG@10).
RANKING = ["torch-mf loss=bpr", "torch-mf loss=bce n_negatives=4"]
DEFAULTS = ["torch-mf", "torch-mlp", "torch-neumf"]
#: Issue targets on the anchor folds: model -> (metric, "<=" or ">=", bound).
TARGETS = {
    "torch-mf": ("rmse", "<=", 0.92), "torch-mlp": ("rmse", "<=", 0.93),
    "torch-mf loss=bpr": ("ndcg@10", ">=", 0.223),
    "torch-mf loss=bce n_negatives=4": ("ndcg@10", ">=", 0.223),
}  # fmt: skip
#: The speed-up target of torch-mf (defaults) over the tutorial loop (issue 27; was 20x).
TUTORIAL_TARGET = 50.0


# -- the tutorial-style loop -----------------------------------------------------------------
class RatingsDataset(Dataset):
    """One rating per ``__getitem__``, as the tutorials write it."""

    def __init__(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> None:
        self.users, self.items, self.ratings = users, items, ratings

    def __len__(self) -> int:
        return len(self.ratings)

    def __getitem__(self, idx: int) -> tuple[Any, Any, Any]:
        return self.users[idx], self.items[idx], self.ratings[idx]


class TutorialMF(nn.Module):
    """``(user_factors(u) * item_factors(i)).sum(1)`` with sparse embeddings."""

    def __init__(self, n_users: int, n_items: int, n_factors: int = 20) -> None:
        super().__init__()
        self.user_factors = nn.Embedding(n_users, n_factors, sparse=True)
        self.item_factors = nn.Embedding(n_items, n_factors, sparse=True)

    def forward(self, user: torch.Tensor, item: torch.Tensor) -> torch.Tensor:
        return (self.user_factors(user) * self.item_factors(item)).sum(1)


def tutorial(train: Interactions, test: Interactions, epochs: int) -> tuple[list[float], float]:
    """Seconds per epoch and the test RMSE of the tutorial loop."""
    torch.manual_seed(0)
    model = TutorialMF(train.n_users, train.n_items)
    loader = DataLoader(
        RatingsDataset(
            train.user.astype(np.int64), train.item.astype(np.int64), train.value.astype(np.float32)
        ),
        batch_size=64,
        shuffle=True,
    )
    opt = torch.optim.SparseAdam(model.parameters(), lr=1e-2)
    loss_fn = nn.MSELoss()
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        for u, i, r in loader:
            opt.zero_grad()
            loss = loss_fn(model(u, i), r)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - started)
    with torch.no_grad():
        pred = model(
            torch.from_numpy(test.user.astype(np.int64)),
            torch.from_numpy(test.item.astype(np.int64)),
        ).numpy()
    return times, rmse(pred, test.value)


def ours(
    train: Interactions, test: Interactions, spec: dict[str, Any]
) -> tuple[list[float], float]:
    from workbench_torch.models import TorchMF

    times: list[float] = []
    model = TorchMF(**spec).fit(train, callback=lambda info: times.append(info.seconds))
    return times, rmse(model.predict(test.user, test.item), test.value)


def rmse(pred: np.ndarray, truth: np.ndarray) -> float:
    pred = np.clip(np.asarray(pred, dtype=np.float64), 1, 5)
    return float(np.sqrt(np.mean((pred - truth) ** 2)))


def speed(repeat: int, tutorial_epochs: int) -> dict[str, Any]:
    split = anchor_splits()[0]
    train, test = split.train, split.test
    specs = {
        "torch-mf (defaults, 20 factors)": {"n_factors": 20},
        "torch-mf (20 factors, batch 1024)": {"n_factors": 20, "batch_size": 1024},
    }
    runs: dict[str, list[float]] = {"tutorial": [], **{k: [] for k in specs}}
    errors: dict[str, float] = {}
    for rep in range(repeat):
        secs, err = tutorial(train, test, tutorial_epochs)
        runs["tutorial"].append(statistics.median(secs))
        errors["tutorial"] = err
        for name, spec in specs.items():
            secs, err = ours(train, test, spec)
            runs[name].append(statistics.median(secs))
            errors[name] = err
        print(
            f"  repeat {rep + 1}: "
            + ", ".join(f"{k} {v[-1]:.4f} s/epoch" for k, v in runs.items()),
            flush=True,
        )
    out = {"n_ratings": len(train), "tutorial_epochs": tutorial_epochs, "systems": {}}
    base = statistics.median(runs["tutorial"])
    for name, values in runs.items():
        med = statistics.median(values)
        ratios = [t / o for t, o in zip(runs["tutorial"], values, strict=True)]
        out["systems"][name] = {
            "seconds_per_epoch": med,
            "speedup_vs_tutorial": base / med,
            "median_pair_ratio": statistics.median(ratios),
            "test_rmse": errors[name],
        }
        print(
            f"{name:36s} {med:8.4f} s/epoch  x{statistics.median(ratios):6.1f}  "
            f"test RMSE {errors[name]:.4f}",
            flush=True,
        )
    return out


# -- scale -----------------------------------------------------------------------------------
def synthetic(n_ratings: int, seed: int = 0) -> Interactions:
    """MovieLens-like ratings: n/100 users (log-normal activity), max(5000, n/1000) items
    (Zipf-like popularity), ratings 1..5 from a rank-10 biased model plus noise."""
    rng = np.random.default_rng(seed)
    n_users, n_items, rank = n_ratings // 100, max(5_000, n_ratings // 1_000), 10
    activity = rng.lognormal(0, 1.0, n_users)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    key = np.empty(0, dtype=np.int64)
    while len(key) < n_ratings:  # draw until there are enough distinct (user, item) pairs
        u = rng.choice(n_users, size=n_ratings, p=activity / activity.sum())
        i = rng.choice(n_items, size=n_ratings, p=popularity / popularity.sum())
        key = np.unique(np.concatenate([key, u.astype(np.int64) * n_items + i]))
    key = rng.permutation(key)[:n_ratings]
    u, i = (key // n_items).astype(np.int32), (key % n_items).astype(np.int32)
    p, q = rng.normal(0, 0.35, (n_users, rank)), rng.normal(0, 0.35, (n_items, rank))
    signal = 3.6 + rng.normal(0, 0.4, n_users)[u] + rng.normal(0, 0.5, n_items)[i]
    signal += np.einsum("ij,ij->i", p[u], q[i]) + rng.normal(0, 0.8, len(u))
    values = np.clip(np.round(signal), 1, 5)
    return Interactions.from_arrays(u, i, values, rating_scale=(1, 5), name="synthetic")


def rss_mb() -> float:
    """The resident memory of this process now (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


class PeakRSS:
    """Samples the resident memory every 10 ms in a thread while the block runs."""

    def __enter__(self) -> PeakRSS:
        self.peak, self._stop = rss_mb(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def scale_worker(n_ratings: int, model: str, epochs: int) -> dict[str, Any]:
    """Run in a fresh process: generate the data, fit, report epoch seconds and peak RSS."""
    from workbench.experiments.resolve import resolve_models

    data = synthetic(n_ratings)
    gc.collect()
    before = rss_mb()
    spec = resolve_models([f"{model} n_epochs={epochs}"])[0].model
    times: list[float] = []
    started = time.perf_counter()
    with PeakRSS() as peak:
        spec.fit(data, callback=lambda info: times.append(info.seconds))
    return {
        "n_ratings": len(data),
        "n_users": data.n_users,
        "n_items": data.n_items,
        "model": model,
        "device": spec.device_,
        "seconds_per_epoch": statistics.median(times),
        "fit_seconds": time.perf_counter() - started,
        "rss_mb_before_fit": before,
        "peak_rss_mb_during_fit": peak.peak,
    }


def scale(sizes: list[int], models: list[str], epochs: int, threads: int) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        for model in models:
            cmd = [
                sys.executable,
                "-m",
                "benchmarks.bench_torch",
                "--scale-worker",
                str(n),
                "--worker-model",
                model,
                "--worker-epochs",
                str(epochs),
            ]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
            if res.returncode != 0:
                print(res.stderr[-2000:], file=sys.stderr)
                continue
            row = json.loads(res.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"{n:>10,} ratings  {model:12s} {row['seconds_per_epoch']:8.2f} s/epoch  "
                f"RSS {row['rss_mb_before_fit']:.0f} MB before fit (data loaded), peak "
                f"{row['peak_rss_mb_during_fit']:.0f} MB during fit  device {row['device']}",
                flush=True,
            )
    return rows


def records(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The results as flat JSON records for the benchmark report."""
    out: list[dict[str, Any]] = [{"kind": "torch_machine", "machine": results["machine"],
                                  "cuda": results["cuda"]}]  # fmt: skip
    speed_part = results.get("speed")
    if speed_part:
        for name, row in speed_part["systems"].items():
            rec = {"kind": "tutorial_speed", "system": name, "ratings": speed_part["n_ratings"],
                   "tutorial_epochs": speed_part["tutorial_epochs"], **row}  # fmt: skip
            if name.startswith("torch-mf (defaults"):
                rec["target"] = f">= {TUTORIAL_TARGET:g}x"
                rec["met"] = row["median_pair_ratio"] >= TUTORIAL_TARGET
            out.append(rec)
    for spec, scores in (results.get("anchor") or {}).items():
        model = spec.split(" threads=")[0]
        rec = {"kind": "anchor", "model": model, "spec": spec, **scores}
        if model in TARGETS:
            metric, op, bound = TARGETS[model]
            value = scores.get(metric, float("nan"))
            rec["target"] = f"{metric} {op} {bound:g}"
            rec["met"] = bool(value <= bound if op == "<=" else value >= bound)
        out.append(rec)
    out += [{"kind": "torch_scale", **row} for row in results.get("scale", [])]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no 10M, no MLP")
    parser.add_argument("--skip-10m", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--only-scale", action="store_true", help="the scale part only")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for every system (default 1: the machine is shared)",
    )
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--scale-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-model", default="torch-mf", help=argparse.SUPPRESS)
    parser.add_argument("--worker-epochs", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.scale_worker:
        print(json.dumps(scale_worker(args.scale_worker, args.worker_model, args.worker_epochs)))
        return
    results: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}",
        "cuda": torch.cuda.is_available(),
    }
    print(f"# {results['machine']}; CUDA available: {results['cuda']}", flush=True)
    if not args.only_scale:
        print("\n## speed against the tutorial loop (anchor fold 0 train, 20 factors)", flush=True)
        results["speed"] = speed(2 if args.quick else 3, tutorial_epochs=2 if args.quick else 3)
    if not (args.skip_accuracy or args.only_scale):
        print("\n## 5-fold anchor folds (RMSE, nDCG@10)", flush=True)
        models = ["torch-mf", *RANKING[:1]] if args.quick else [*DEFAULTS, *RANKING]
        threads = f" threads={args.threads}"
        results["anchor"] = anchor_run([m + threads for m in models], ["rmse", "ndcg@10"])
    print("\n## scale (synthetic ratings, 3 epochs, fresh process each)", flush=True)
    sizes = [1_000_000] if args.quick or args.skip_10m else [1_000_000, 10_000_000]
    models = ["torch-mf"] if args.quick else ["torch-mf", "torch-mlp"]
    results["scale"] = scale(sizes, models, epochs=3, threads=args.threads)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**results, "records": records(results)}, fh, indent=2)


if __name__ == "__main__":
    main()
