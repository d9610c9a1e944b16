"""Nested cross-validation: an honest score for a tuned model.

`tune` ranks candidates by their cross-validated score and reports the best one; that number
is optimistic, because the same folds chose the winner. `nested_tune` splits the data with an
*outer* splitter; on each outer training set it runs the whole search (any strategy, with the
inner ``splitter``), refits the winner on that outer training set and scores it on the outer
test fold, which the search never saw. The mean over the outer folds estimates how well
"tune, then train" does on new data; the inner best scores are shown beside it.

With a run folder, each outer fold's search is a tuning run folder ``inner-K`` (resumable
like any search) and the outcome is written to ``nested.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import DataError
from workbench.experiments.runner import Progress

SUMMARY = "nested.json"


@dataclass
class NestedResult:
    """One row per outer fold: the chosen parameters, the inner best and the outer test score."""

    folds: pd.DataFrame
    metric: str
    higher_is_better: bool

    @property
    def outer_score(self) -> float:
        """Mean test score over the outer folds (the honest estimate)."""
        return float(self.folds["outer"].mean())

    @property
    def inner_score(self) -> float:
        """Mean of the inner searches' best scores (each chosen on its own folds: optimistic
        about the selection, but trained on less data than the outer fits)."""
        return float(self.folds["inner_best"].mean())

    def as_dict(self) -> dict[str, Any]:
        from workbench.jsonvalues import normalise

        return normalise(
            {
                "metric": self.metric,
                "higher_is_better": self.higher_is_better,
                "outer_mean": self.outer_score,
                "outer_std": float(self.folds["outer"].std(ddof=1)) if len(self.folds) > 1 else 0,
                "inner_best_mean": self.inner_score,
                "folds": json.loads(self.folds.to_json(orient="records")),
            }
        )


def nested_tune(
    data: Any,
    splitter: Any,
    model_name: Any,
    space: Any,
    metric: Any,
    *,
    outer: Any,
    search: str = "grid",
    n_iter: int = 10,
    seed: int = 0,
    jobs: int = 1,
    run_dir: str | Path | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    protocol: Any = None,
    metrics: Iterable[Any] = (),
) -> NestedResult:
    """Tune inside each training fold of ``outer``; score each winner on its outer test fold.

    Arguments as for `workbench.search.tuning.tune` (``splitter`` is the inner one), plus ``outer``:
    a splitter spec (``"kfold n_folds=5"``), `Splitter` or list of `Split`.
    """
    from workbench.experiments.compare import compare
    from workbench.experiments.resolve import resolve_data, resolve_splitter
    from workbench.search.tuning import _tune_params, tune
    from workbench.splits import Splitter

    data_obj, _ = resolve_data(data)
    split_obj = resolve_splitter(outer, seed)
    outer_splits = list(split_obj.split(data_obj)) if isinstance(split_obj, Splitter) else split_obj
    if not outer_splits:
        raise DataError("the outer splitter produced no splits")
    name, fixed = _tune_params(model_name)
    folder = Path(run_dir) if run_dir is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    extra = list(metrics)
    higher = True
    for k, split in enumerate(outer_splits, start=1):
        inner_dir = folder / f"inner-{k}" if folder is not None else None
        again = resume and inner_dir is not None and (inner_dir / "metadata.json").exists()
        if hasattr(progress, "title"):  # each inner search's bar names its outer fold
            progress.title = f"tune (outer fold {k} of {len(outer_splits)})"
        found = tune(
            split.train, splitter, model_name, space, metric,
            search=search, n_iter=n_iter, seed=seed, jobs=jobs, run_dir=inner_dir,
            resume=again, progress=progress, protocol=protocol, metrics=extra,
        )  # fmt: skip
        higher = found.results.higher_is_better(found.metric)
        winner = {"name": name, "label": name, **found.best_params}
        scored = compare(
            data_obj, [split], [winner], [found.metric, *extra],
            protocol=protocol, seed=seed, jobs=1,
        )  # fmt: skip
        outer_scores = scored.scores[scored.scores["metric"] == found.metric]["value"]
        if outer_scores.empty:
            errors = scored.metadata.get("errors") or [{"error": "no score"}]
            raise DataError(f"outer fold {k}: the tuned model failed: {errors[0]['error']}")
        searched = {key: v for key, v in found.best_params.items() if key not in fixed}
        rows.append(
            {
                "outer_fold": k,
                **searched,
                "inner_best": found.best_score,
                "outer": float(outer_scores.iloc[0]),
                "candidates": len(found.ranking),
            }
        )
    result = NestedResult(pd.DataFrame(rows), str(found.metric), bool(higher))
    if folder is not None:
        from workbench.fileio.files import write_atomic

        text = json.dumps(result.as_dict(), indent=2) + "\n"
        write_atomic(folder / SUMMARY, lambda fh: fh.write(text.encode("utf-8")))
    return result
