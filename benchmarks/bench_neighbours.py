"""``knnbaseline`` and ``slope-one`` next to Surprise's KNNBaseline and SlopeOne on the
ML-100k anchor folds (5-fold mean RMSE, predictions clipped to 1-5 as both do).

Surprise may not install next to the workbench's pins, so its side runs in its own
environment and needs only numpy, pandas and scikit-surprise::

    .refvenv/bin/python benchmarks/bench_neighbours.py --reference   # Surprise -> JSON
    .venv/bin/python -m benchmarks.bench_neighbours                  # ours + the table

Each row pairs a workbench spec with the Surprise call of the same settings. Timings (fit
plus predicting the test fold, per fold) come from separate processes run one after the
other: read them with the load average printed next to them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "benchmarks" / "results" / "scripts" / "neighbours_surprise.json"
RESULT = ROOT / "benchmarks" / "results" / "scripts" / "neighbours.json"

#: (label, workbench spec, Surprise class, Surprise keyword arguments)
ROWS: list[tuple[str, str, str, dict]] = [
    (
        "item pearson-baseline k=40 (our default)",
        "knnbaseline",
        "KNNBaseline",
        {"sim_options": {"name": "pearson_baseline", "user_based": False}},
    ),
    (
        "user msd k=40 (Surprise's default)",
        "knnbaseline user_based=true similarity=msd",
        "KNNBaseline",
        {},
    ),
    (
        "user pearson-baseline k=40",
        "knnbaseline user_based=true",
        "KNNBaseline",
        {"sim_options": {"name": "pearson_baseline", "user_based": True}},
    ),
    (
        "item msd k=40",
        "knnbaseline similarity=msd",
        "KNNBaseline",
        {"sim_options": {"name": "msd", "user_based": False}},
    ),
    ("Slope One", "slope-one", "SlopeOne", {}),
]


def data_dir() -> Path:
    return Path(os.environ.get("WORKBENCH_DATA_DIR", ROOT.parent / "shared" / "data"))


def load() -> tuple[pd.DataFrame, np.ndarray]:
    root = data_dir() / "ml-100k"
    frame = pd.read_csv(root / "u.data", sep="\t", names=["user", "item", "rating", "ts"])
    return frame, np.load(root / "anchor_folds.npy", allow_pickle=False)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def reference() -> None:
    """Surprise's RMSE per anchor fold for every row, written to `REFERENCE`."""
    import surprise

    frame, folds = load()
    out: dict = {"surprise": surprise.__version__, "load": load_average(), "rows": {}}
    reader = surprise.Reader(rating_scale=(1, 5))
    for label, _, cls, kwargs in ROWS:
        rmse, seconds = [], []
        for f in np.unique(folds):
            train, test = frame[folds != f], frame[folds == f]
            trainset = surprise.Dataset.load_from_df(
                train[["user", "item", "rating"]], reader
            ).build_full_trainset()
            quiet = {"verbose": False} if cls == "KNNBaseline" else {}
            algo = getattr(surprise, cls)(**kwargs, **quiet)
            started = time.perf_counter()
            algo.fit(trainset)
            preds = algo.test(list(test[["user", "item", "rating"]].itertuples(index=False)))
            seconds.append(time.perf_counter() - started)
            est = np.array([p.est for p in preds])
            rmse.append(float(np.sqrt(np.mean((est - test["rating"].to_numpy()) ** 2))))
        out["rows"][label] = {"rmse": rmse, "seconds": seconds}
        print(
            f"{label:44s} Surprise RMSE {np.mean(rmse):.4f}  {np.mean(seconds):.1f} s/fold",
            flush=True,
        )
    REFERENCE.write_text(json.dumps(out, indent=1))


def ours() -> None:
    """Our RMSE per anchor fold for every row, and the table next to `REFERENCE`."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.anchor_folds import anchor_splits
    from workbench.evaluation import evaluate
    from workbench.experiments.resolve import resolve_metrics, resolve_models
    from workbench.protocol import EvaluationProtocol

    splits = anchor_splits()
    metrics = resolve_metrics(["rmse"], splits[0].train)
    ref = json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {"rows": {}}
    out: dict = {"load": load_average(), "rows": {}}
    print(f"load average {out['load']}; Surprise's side: {ref.get('load', '-')}")
    print(
        "| setting | workbench spec | ours RMSE | Surprise RMSE | ours s/fold | Surprise s/fold |"
    )
    print("|---|---|---|---|---|---|")
    for label, spec, _, _ in ROWS:
        model = resolve_models([spec])[0].model
        rmse, seconds = [], []
        for split in splits:
            started = time.perf_counter()
            model.fit(split.train)
            result = evaluate(model, split, metrics, EvaluationProtocol())
            seconds.append(time.perf_counter() - started)
            rmse.append(float(result.scores["rmse"]))
        out["rows"][label] = {"spec": spec, "rmse": rmse, "seconds": seconds}
        theirs = ref["rows"].get(label, {})
        t_rmse = f"{np.mean(theirs['rmse']):.4f}" if theirs else "-"
        t_sec = f"{np.mean(theirs['seconds']):.1f}" if theirs else "-"
        print(
            f"| {label} | `{spec}` | {np.mean(rmse):.4f} | {t_rmse} | "
            f"{np.mean(seconds):.1f} | {t_sec} |",
            flush=True,
        )
    RESULT.write_text(json.dumps(out, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", action="store_true", help="run Surprise's side")
    args = parser.parse_args()
    reference() if args.reference else ours()


if __name__ == "__main__":
    main()
