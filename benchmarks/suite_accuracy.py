"""Accuracy on the ML-100k anchor folds: every built-in model at its defaults, next to its
reference counterpart with the same parameters (where they map) and at the reference's own
defaults. Quick mode: fold 1 only and the faster models; full mode: all five folds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks import evalkit, refs
from benchmarks.suites import Context, Record, suite
from workbench.evaluation import evaluate
from workbench.experiments.resolve import resolve_metrics, resolve_models
from workbench.protocol import EvaluationProtocol
from workbench.splits import Split

#: Our models (spec) and, for each, the references: (label, setting, factory(train, scale)).
SGD_SAME = dict(
    n_factors=100, n_epochs=60, lr_all=0.01, reg_bu=0.02, reg_bi=0.02, reg_pu=0.04,
    reg_qi=0.04, init_std_dev=0.01, random_state=0,
)  # fmt: skip
NOTE_SGD = "no learning-rate decay in Surprise (ours 0.97 per epoch)"


def _kmf(kernel: str, lr: float) -> dict[str, Any]:
    return dict(n_factors=100, n_epochs=40, kernel=kernel, gamma=0.5, reg=0.05, lr=lr, init_sd=0.01)


def plan(ctx: Context) -> list[tuple[str, list[tuple[str, str, str, Callable]]]]:
    s = refs.surprise_model
    models: list[tuple[str, list[tuple[str, str, str, Callable]]]] = [
        ("global-mean", []),
        ("popularity", []),
        ("biases", [
            ("Surprise BaselineOnly", "same parameters",
             "ALS, reg_u 5, reg_i 3, 15 sweeps",
             lambda tr, sc: s("BaselineOnly", tr, sc, bsl_options={
                 "method": "als", "reg_u": 5, "reg_i": 3, "n_epochs": 15}, verbose=False)),
            ("Surprise BaselineOnly", "its defaults", "",
             lambda tr, sc: s("BaselineOnly", tr, sc, verbose=False)),
        ]),
        ("sgd", [
            ("Surprise SVD", "same parameters", NOTE_SGD,
             lambda tr, sc: s("SVD", tr, sc, **SGD_SAME)),
            ("Surprise SVD", "its defaults", "", lambda tr, sc: s("SVD", tr, sc, random_state=0)),
        ]),
        ("kernel-mf kernel=linear", [
            ("matrix-factorization KernelMF", "same parameters", "one reg for biases and factors",
             lambda tr, sc: refs.kernel_mf(tr, sc, **_kmf("linear", 0.01))),
            ("matrix-factorization KernelMF", "its defaults", "",
             lambda tr, sc: refs.kernel_mf(tr, sc)),
        ]),
    ]
    if ctx.tiny:  # the smoke test: a few models, no package that compiles on first use
        return [m for m in models if m[0] in ("global-mean", "biases", "sgd")]
    if not ctx.quick:
        models += [
            ("svdpp", [
                ("Surprise SVDpp", "its defaults", "20 factors, 20 epochs (same parameters: "
                 "100 factors x 40 epochs take Surprise too long for this suite)",
                 lambda tr, sc: s("SVDpp", tr, sc, random_state=0)),
            ]),
            ("kernel-mf kernel=sigmoid", [
                ("matrix-factorization KernelMF", "same parameters", "",
                 lambda tr, sc: refs.kernel_mf(tr, sc, **_kmf("sigmoid", 0.02))),
            ]),
            ("kernel-mf kernel=rbf", [
                ("matrix-factorization KernelMF", "same parameters", "",
                 lambda tr, sc: refs.kernel_mf(tr, sc, **_kmf("rbf", 0.01))),
            ]),
            ("item-knn", []),
        ]
    return models


def splits(ctx: Context) -> tuple[str, list[Split]]:
    if ctx.tiny:
        from workbench.testing import low_rank_ratings

        data = low_rank_ratings(n_users=60, n_items=40, density=0.3, seed=0)
        fold = np.random.default_rng(0).integers(0, 2, len(data))
        return "tiny synthetic", [
            Split(train=data.subset(fold != f), test=data.subset(fold == f), fold=f)
            for f in (0, 1)
        ]
    from benchmarks.anchor_folds import anchor_splits

    all_splits = anchor_splits()
    return "ml-100k anchor folds", all_splits[:1] if ctx.quick else all_splits


def _tiny_spec(spec: str, ctx: Context) -> str:
    if not ctx.tiny:
        return spec
    fast = {"sgd": "n_epochs=2", "svdpp": "n_epochs=2", "kernel-mf": "n_epochs=2"}
    extra = fast.get(spec.split()[0])
    return f"{spec} {extra}" if extra else spec


def ours(spec: str, split_list: list[Split], metrics: list[str]) -> dict[str, float]:
    objs = resolve_metrics(metrics, split_list[0].train)
    sums: dict[str, list[float]] = {m: [] for m in metrics}
    fit_s: list[float] = []
    for split in split_list:
        model = resolve_models([spec])[0].model
        started = time.perf_counter()
        model.fit(split.train)
        fit_s.append(time.perf_counter() - started)
        result = evaluate(model, split, objs, EvaluationProtocol())
        for m in metrics:
            sums[m].append(result.scores.get(m, float("nan")))
    return {**{m: float(np.nanmean(v)) for m, v in sums.items()}, "fit_s": float(np.mean(fit_s))}


def reference(factory: Callable, split_list: list[Split]) -> dict[str, float]:
    rows, fit_s = [], []
    for split in split_list:
        train, test = split.train, split.test
        scale = train.rating_scale or (1.0, 5.0)
        started = time.perf_counter()
        fitted = factory(train, scale)
        fit_s.append(fitted.fit_s or time.perf_counter() - started)
        row = evalkit.rating_metrics(fitted.predict(test.user, test.item), test)
        row.update(evalkit.ranking_metrics(fitted.scores, train, test))
        rows.append(row)
    out = {m: float(np.mean([r[m] for r in rows])) for m in rows[0]}
    return {**out, "fit_s": float(np.mean(fit_s))}


def check_agreement(split: Split) -> Record:
    """Our sgd through both evaluators: the reference figures are comparable with ours."""
    model = resolve_models(["sgd n_epochs=5"])[0].model.fit(split.train)
    workbench = evaluate(
        model, split, resolve_metrics(evalkit.METRICS, split.train), EvaluationProtocol()
    ).scores
    n_items = split.train.n_items

    def scores(users: np.ndarray) -> np.ndarray:
        u = np.repeat(users, n_items)
        i = np.tile(np.arange(n_items), len(users))
        return model.predict(u, i).reshape(len(users), n_items)

    test = split.test
    mine = evalkit.rating_metrics(
        model.predict(test.user, test.item), test
    )
    mine.update(evalkit.ranking_metrics(scores, split.train, test))
    diff = max(abs(mine[m] - workbench[m]) for m in evalkit.METRICS)
    return {"kind": "check", "what": "benchmark evaluator vs workbench evaluate (sgd, 5 epochs, "
            "one fold)", "max_abs_difference": diff}  # fmt: skip


@suite("accuracy")
def accuracy(ctx: Context) -> list[Record]:
    data, split_list = splits(ctx)
    records: list[Record] = [check_agreement(split_list[0])]
    for spec, references in plan(ctx):
        base = {"kind": "accuracy", "data": data, "folds": len(split_list), "model": spec}
        try:
            scores = ours(_tiny_spec(spec, ctx), split_list, evalkit.METRICS)
        except Exception as exc:  # e.g. a plugin model that is not installed
            records.append({**base, "library": "workbench", "error": str(exc)})
            continue
        records.append({**base, "library": "workbench", "setting": "defaults", **scores})
        print(f"  {spec:28s} workbench  rmse {scores['rmse']:.4f}  "
              f"ndcg@10 {scores['ndcg@10']:.4f}  fit {scores['fit_s']:.2f} s", flush=True)
        records += reference_records(references, split_list, base, indent=28)
    return records


def reference_records(
    references: list, split_list: list[Split], base: dict[str, Any], indent: int
) -> list[Record]:
    """One accuracy record per (label, setting, note, factory) reference, or a "missing"
    record where its library does not import; each printed under our row."""
    out: list[Record] = []
    for label, setting, note, factory in references:
        try:
            theirs = reference(factory, split_list)
        except refs.Missing as exc:
            out.append({"kind": "missing", "library": label, "why": str(exc)})
            continue
        out.append({**base, "library": label, "setting": setting, "note": note, **theirs})
        print(f"  {'':{indent}s} {label} ({setting})  rmse {theirs['rmse']:.4f}  "
              f"ndcg@10 {theirs['ndcg@10']:.4f}  fit {theirs['fit_s']:.2f} s", flush=True)
    return out
