"""The Python API: the CLI's workflows as functions that return pandas-friendly objects.

The CLI reaches the core only through this package (and the errors and types it displays):
`workflows` holds the workflows, `catalogue` what the loaded plugins offer, `inputs` the
parsing of what a user types.

::

    import workbench as wb

    data = wb.load_dataset("movielens", variant="100k")
    results = wb.compare(data, "kfold n_folds=5", ["sgd", "sgd n_factors=200"], ["rmse", "ndcg@10"])
    results.summary()                      # mean and std per model and metric
    results.export("html", path="report.html")

    model = wb.train("sgd", data, n_factors=50)
    wb.recommend(model, [1, 2], k=10)      # user, rank, item, score, title
    wb.recommend_new_users(model, new_ratings, k=10)
    wb.similar_items(model, [50], k=5)

Ids are the dataset's external ids in and out; models may be given by name (with parameters)
or as instances of any `Model` subclass, registered or not.
"""
from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module of this package that defines it; imported on first use, so that
#: ``import workbench.api.catalogue`` (``workbench --help``) does not import pandas
_WHERE = {
    **dict.fromkeys(
        ["ModelChoice", "Trained", "activity", "compare", "default_metric", "default_metrics",
         "describe_dataset", "describe_splits", "evaluate_model", "first_split", "fold_in",
         "held_out_part", "known_users", "load_dataset", "load_model", "load_run", "load_tune",
         "make_model", "models_for", "recommend", "recommend_new_users", "resume_run",
         "similar_items", "split", "train", "train_holdout", "tune"],
        "workflows",
    ),
    "recommend_to_file": "bulk",
    "ExperimentRequest": "runs",
    "pairwise_tests": "statistics",
    "intervals": "statistics",
    "seed_variance": "statistics",
    "build_request": "runs",
}  # fmt: skip

#: what ``import workbench as wb`` offers as ``wb.NAME`` too (the helpers of the CLI,
#: ``fold_in``, ``known_users`` and ``held_out_part``, are importable from here but not listed)
__all__ = sorted(set(_WHERE) - {"fold_in", "known_users", "held_out_part"})


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"workbench.api.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
