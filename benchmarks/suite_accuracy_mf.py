"""Accuracy of the ALS, NMF and PyTorch models on the ML-100k anchor folds, next to their
references: the reference run here where it installs (``implicit`` ALS, scikit-learn NMF,
Surprise NMF) and, always, the reference's published figure from ANCHORS.md (the team's
measurement of the library on the same folds). Quick mode: fold 1; full mode: all five folds.
Each of our rows carries issue 13's target for it in the note column.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from benchmarks import refs
from benchmarks.evalkit import METRICS
from benchmarks.suite_accuracy import _tiny_spec, ours, reference_records, splits
from benchmarks.suites import Context, Record, suite

#: Figures quoted from ANCHORS.md (../shared/docs/ANCHORS.md: the libraries' own runs on the
#: same five folds, mean over folds): reference label -> (setting, metrics, fit s per fold).
ANCHORS: dict[str, tuple[str, dict[str, float], float | None]] = {
    "implicit ALS": ("64 factors, alpha 1", {
        "ndcg@10": 0.279, "precision@10": 0.198, "recall@10": 0.238, "hitrate@10": 0.812,
    }, None),
    "scikit-learn NMF": ("zero-filled matrix, 50 components", {
        "ndcg@10": 0.329, "precision@10": 0.235, "recall@10": 0.262, "hitrate@10": 0.833,
    }, None),
    "LensKit BiasedMF": ("ALS, defaults", {"rmse": 0.9165}, 0.46),
    "Surprise NMF": ("defaults", {"rmse": 0.9639}, 1.83),
    "tutorial-style PyTorch MF": ("20 factors, batch 64, SparseAdam, 10 epochs",
                                  {"rmse": 1.179}, 17.0),
}  # fmt: skip

#: Our model -> (target metric, "<=" or ">=", bound, what the bound is).
TARGETS: dict[str, tuple[str, str, float, str]] = {
    "ials": ("ndcg@10", ">=", 0.34, "issue 23; implicit ALS tuned 0.363"),
    "nmf": ("ndcg@10", ">=", 0.329, "scikit-learn NMF"),
    "als": ("rmse", "<=", 0.915, "LensKit BiasedMF 0.9165"),
    "nmf-observed": ("rmse", "<=", 0.95, "Surprise NMF 0.9639"),
    "torch-mf": ("rmse", "<=", 0.92, "Surprise SVD 0.9201"),
}

Factory = Callable[..., refs.Fitted]


def plan(ctx: Context) -> list[tuple[str, list[tuple[str, str, str, Factory]], list[str]]]:
    """(our model, live references (label, setting, note, factory), ANCHORS.md labels)."""
    models: list[tuple[str, list[tuple[str, str, str, Factory]], list[str]]] = [
        ("ials", [
            ("implicit ALS", "our defaults before issue 23", "64 factors, alpha 1, reg 0.1, "
             "15 iterations; confidence alpha r (ours 1 + alpha r)",
             lambda tr, sc: refs.implicit_als(tr, sc, factors=64, alpha=1.0,
                                              regularization=0.1, iterations=15)),
            ("implicit ALS", "issue 23's tuned setting", "32 factors, alpha 1, reg 10, "
             "15 iterations (the issue: 0.363)",
             lambda tr, sc: refs.implicit_als(tr, sc, factors=32, alpha=1.0,
                                              regularization=10.0, iterations=15)),
        ], ["implicit ALS"]),
        ("nmf", [
            ("scikit-learn NMF", "50 components", "nndsvda start, its stopping rule",
             lambda tr, sc: refs.sklearn_nmf(tr, sc, n_components=50)),
        ], ["scikit-learn NMF"]),
        ("als", [], ["LensKit BiasedMF"]),
        ("nmf-observed", [
            ("Surprise NMF", "its defaults", "15 factors, 50 epochs, unbiased",
             lambda tr, sc: refs.surprise_model("NMF", tr, sc, random_state=0)),
        ], ["Surprise NMF"]),
        ("torch-mf", [], ["tutorial-style PyTorch MF"]),
    ]  # fmt: skip
    if ctx.tiny:  # the smoke test: two fast models, no reference (nor ML-100k figures)
        return [(m, [], []) for m, _, _ in models if m in ("ials", "nmf")]
    return models


def target_note(model: str, scores: dict[str, float]) -> str:
    if model not in TARGETS:
        return ""
    metric, op, bound, what = TARGETS[model]
    value = scores.get(metric, math.nan)
    met = value <= bound if op == "<=" else value >= bound
    return f"target {metric} {op} {bound:g} ({what}): {'met' if met else 'not met'}"


def anchor_record(base: Record, label: str) -> Record:
    setting, figures, fit_s = ANCHORS[label]
    return {**base, "library": f"{label} (ANCHORS.md)", "setting": setting,
            **{m: figures.get(m, math.nan) for m in METRICS}, "fit_s": fit_s,
            "note": "published figure, 5 folds"}  # fmt: skip


@suite("accuracy_mf")
def accuracy_mf(ctx: Context) -> list[Record]:
    data, split_list = splits(ctx)
    records: list[Record] = []
    for spec, references, anchors in plan(ctx):
        base: dict[str, Any] = {"kind": "accuracy", "data": data, "folds": len(split_list),
                                "model": spec}  # fmt: skip
        try:
            with warnings.catch_warnings():  # nanmean of RMSE for a ranking model: NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                scores = ours(_tiny_spec(spec, ctx), split_list, METRICS)
        except Exception as exc:  # e.g. a plugin model that is not installed
            records.append({**base, "library": "workbench", "error": str(exc)})
            continue
        note = "" if ctx.tiny else target_note(spec, scores)
        records.append({**base, "library": "workbench", "setting": "defaults", **scores,
                        "note": note})  # fmt: skip
        print(f"  {spec:14s} workbench  rmse {scores['rmse']:.4f}  "
              f"ndcg@10 {scores['ndcg@10']:.4f}  fit {scores['fit_s']:.2f} s", flush=True)
        records += reference_records(references, split_list, base, indent=14)
        records += [anchor_record(base, label) for label in anchors]
    return records
