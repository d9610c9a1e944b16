"""The evaluation protocol: rating and ranking metrics of a fitted model on one split.

What `evaluate` does (docs/metrics.md has the full text and every formula):

- **Rating metrics** score every test pair with ``model.predict``; predictions are clipped to
  the training data's rating scale unless ``EvaluationProtocol(clip=False)``. A time-aware model
  (``uses_timestamps``) gets each test pair's timestamp when the test set has them.
- **Ranking and list metrics** share ONE scoring pass: each test user's scores over all items
  they did not interact with in train (``exclude_seen``) are computed in blocks of users, the
  top-K list is taken once with K = the largest k asked for, and each metric reads its prefix;
  tied scores are ranked in a random item order fixed by the protocol's seed.
  No sampled negatives unless ``EvaluationProtocol(negatives=N)`` asks for them.
- **Relevant** items are the user's test items rated at or above the relevance threshold
  (explicit data) or every test item (implicit data). Ranking metrics are averaged over users
  with at least one relevant item; the others are counted in the diagnostics.
- **Cold** users/items (no training interactions) get the model's fallback; pairs that fell
  back are counted (``cold_pairs``) and rating metrics are also reported on cold and warm
  pairs separately (``rmse_cold``, ``rmse_warm``) in the diagnostics.
- **New-user splits** (``split.history``): the history is folded into the model and those
  users are ranked against the items outside their history.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.data import IdMap, Interactions
from workbench.errors import DataError, ParamError, WorkbenchError
from workbench.metric import ListMetric, Metric, RankingMetric, RatingMetric
from workbench.model import FoldedUsers, Model
from workbench.protocol import (
    DEFAULT_THRESHOLD_FRACTION,
    PROTOCOL_FIELDS,
    EvaluationProtocol,
    check_protocol_value,
    default_threshold,
)
from workbench.ranking import ModelTimer, evaluate_ranking
from workbench.splits import Split

#: Pairs predicted per call of ``model.predict`` (bounds memory).
PREDICT_CHUNK = 1 << 20


@dataclass
class Evaluation:
    """What `evaluate` measured on one split."""

    scores: dict[str, float]
    diagnostics: dict[str, Any] = field(default_factory=dict)
    per_user: pd.DataFrame | None = None


def check_metrics_fit(metrics: Sequence[Metric], data: Interactions) -> None:
    """Raise `DataError`/`ParamError` before training when a metric cannot be computed on
    ``data`` (e.g. RMSE on implicit data) or two metrics share a label."""
    seen: set[str] = set()
    for metric in metrics:
        if not isinstance(metric, RatingMetric | RankingMetric | ListMetric):
            raise WorkbenchError(
                f"{metric!r} is not a metric: metrics subclass RatingMetric, RankingMetric or "
                "ListMetric (workbench.metric)"
            )
        label = metric.label
        if label in seen:
            raise ParamError(f"metric '{label}' is asked for twice")
        seen.add(label)
        if data.kind not in metric.feedback:
            need = " or ".join(sorted(metric.feedback))
            raise DataError(
                f"metric '{label}' needs {need} feedback, but dataset '{data.name}' is "
                f"{data.kind} (use ranking metrics such as ndcg@10 instead)"
                if metric.category == "rating"
                else f"metric '{label}' needs {need} feedback, but '{data.name}' is {data.kind}"
            )
        if isinstance(metric, ListMetric):
            metric.check_data(data)


def _check_space(model: Model, split: Split) -> None:
    model.check_fitted()
    if model.n_items_ != split.train.n_items or model.items_ != split.train.items:
        raise DataError(
            f"{model.owner()} was fitted on other data: its {model.n_items_} item ids differ "
            f"from the split's {split.train.n_items} (fit it on split.train)"
        )
    if model.n_users_ != split.train.n_users or model.users_ != split.train.users:
        raise DataError(
            f"{model.owner()} was fitted on other data: its {model.n_users_} user ids differ "
            f"from the split's {split.train.n_users} (fit it on split.train)"
        )


def _overlap(a: Interactions, b: Interactions) -> int:
    """How many (user, item) pairs of ``b`` also occur in ``a`` (`count_shared_pairs`: no
    sort of the larger side)."""
    from workbench.topk.pairs import count_shared_pairs

    return count_shared_pairs(a.user, a.item, b.user, b.item)


def _leaks(split: Split) -> None:
    leaked = _overlap(split.train, split.test)
    if leaked:
        raise DataError(
            f"split fold {split.fold}: {leaked} test (user, item) pairs also occur in train; "
            "the splitter leaks test data into training"
        )
    if split.history is not None:
        overlap = _overlap(split.history, split.test)
        if overlap:
            raise DataError(
                f"split fold {split.fold}: {overlap} test pairs also occur in the fold-in "
                "history; the splitter leaks test data"
            )


def _predict_test_pairs(
    model: Model,
    users: np.ndarray,
    items: np.ndarray,
    folded: FoldedUsers | None,
    folded_row: np.ndarray,
    clock: ModelTimer,
    timestamps: np.ndarray | None = None,
) -> np.ndarray:
    """The model's predictions for the test pairs, in chunks: known users by index, folded-in
    users through their folded state (not the model hook `Model._score_pairs`)."""
    out = np.empty(len(users), dtype=np.float64)
    rows = folded_row[users]
    timed = timestamps is not None and model.uses_timestamps
    for start in range(0, len(users), PREDICT_CHUNK):
        sl = slice(start, start + PREDICT_CHUNK)
        r, u, i = rows[sl], users[sl], items[sl]
        t = timestamps[sl] if timed else None  # type: ignore[index]
        part = np.empty(len(u), dtype=np.float64)
        regular = r < 0
        if regular.any():
            kw = {"timestamps": t[regular]} if t is not None else {}
            part[regular] = clock.call(model.predict, u[regular], i[regular], **kw)
        if folded is not None and (~regular).any():
            kw = {"timestamps": t[~regular]} if t is not None else {}
            part[~regular] = clock.call(model.predict, (folded, r[~regular]), i[~regular], **kw)
        out[sl] = part
    return out


def _rating_part(
    model: Model,
    split: Split,
    metrics: list[RatingMetric],
    protocol: EvaluationProtocol,
    folded: FoldedUsers | None,
    folded_row: np.ndarray,
    cold_pair: np.ndarray,
    clock: ModelTimer,
) -> tuple[dict[str, float], dict[str, Any], np.ndarray, np.ndarray]:
    test = split.test
    truth = test.value.astype(np.float64)
    preds = _predict_test_pairs(
        model, test.user, test.item, folded, folded_row, clock, timestamps=test.timestamp
    )
    diag: dict[str, Any] = {"nonfinite_predictions": int((~np.isfinite(preds)).sum())}
    scale = split.train.rating_scale
    if protocol.clip and scale is not None:
        preds = np.clip(preds, scale[0], scale[1])
    scores = {m.label: float(m.compute(truth, preds)) for m in metrics}
    n_cold = int(cold_pair.sum())
    if 0 < n_cold < len(truth):
        for m in metrics:
            diag[f"{m.label}_cold"] = float(m.compute(truth[cold_pair], preds[cold_pair]))
            diag[f"{m.label}_warm"] = float(m.compute(truth[~cold_pair], preds[~cold_pair]))
    return scores, diag, truth, preds


def _folded_subset(folded: FoldedUsers, rows: np.ndarray) -> FoldedUsers:
    return FoldedUsers(
        ids=folded.ids[rows], state=folded.state.take(rows), seen=folded.seen[rows]
    )


def evaluate(
    model: Model,
    split: Split,
    metrics: Sequence[Metric],
    protocol: EvaluationProtocol | None = None,
    *,
    per_user: bool = False,
) -> Evaluation:
    """Evaluate a model fitted on ``split.train`` on ``split.test`` (see the module docs)."""
    protocol = protocol or EvaluationProtocol()
    metrics = list(metrics)
    train, test = split.train, split.test
    check_metrics_fit(metrics, train)
    _check_space(model, split)
    if len(test) == 0:
        raise DataError(f"split fold {split.fold}: the test set is empty")
    _leaks(split)
    started = time.perf_counter()
    clock = ModelTimer()
    rating = [m for m in metrics if isinstance(m, RatingMetric)]
    ranking = [m for m in metrics if isinstance(m, RankingMetric)]
    lists = [m for m in metrics if isinstance(m, ListMetric)]

    train_counts = train.user_counts()
    item_counts = train.item_counts()
    history = split.history if split.history is not None and len(split.history) else None
    hist_counts = history.user_counts() if history is not None else np.zeros_like(train_counts)
    test_users = np.unique(test.user).astype(np.int64)

    folded: FoldedUsers | None = None
    folded_row = np.full(train.n_users, -1, dtype=np.int64)
    if history is not None:
        in_history = test_users[hist_counts[test_users] > 0]
        if len(in_history):
            all_folded = clock.call(model.fold_in, history)
            rows = IdMap(all_folded.ids).index_of(train.users.id_of(in_history), missing="minus1")
            keep = rows >= 0
            folded = _folded_subset(all_folded, rows[keep])
            folded_row[in_history[keep]] = np.arange(int(keep.sum()))

    known_user = (train_counts > 0) | (folded_row >= 0)
    cold_pair = ~known_user[test.user] | (item_counts[test.item] == 0)
    diagnostics: dict[str, Any] = {
        "n_train": len(train),
        "n_test": len(test),
        "n_test_users": len(test_users),
        "cold_users": int((~known_user[test_users]).sum()),
        "cold_items": int((item_counts[np.unique(test.item)] == 0).sum()),
        "cold_pairs": int(cold_pair.sum()),
        "cold_fallback": model.describe_cold_start(),
        "folded_users": int((folded_row >= 0).sum()),
    }
    scores: dict[str, float] = {}
    frame: dict[str, Any] = {"user": test_users}

    if rating and not model.predicts_ratings():
        # a ranking model's scores are not ratings: no RMSE/MAE, and the record says why
        scores.update({m.label: float("nan") for m in rating})
        diagnostics["rating_metrics"] = "not applicable: the model predicts ranking scores"
        rating = []
    if rating:
        r_scores, r_diag, truth, preds = _rating_part(
            model, split, rating, protocol, folded, folded_row, cold_pair, clock
        )
        scores.update(r_scores)
        diagnostics.update(r_diag)
        if per_user:
            err = preds - truth
            n = train.n_users
            frame["n_rated"] = np.bincount(test.user, minlength=n)[test_users]
            frame["sq_error"] = np.bincount(test.user, weights=err * err, minlength=n)[test_users]
            frame["abs_error"] = np.bincount(test.user, weights=np.abs(err), minlength=n)[
                test_users
            ]
    diagnostics["predict_seconds"] = clock.seconds

    if ranking or lists:
        r_scores, r_diag, r_frame = evaluate_ranking(
            model, split, ranking=ranking, lists=lists, protocol=protocol,
            test_users=test_users, folded=folded, folded_row=folded_row,
        )  # fmt: skip
        scores.update(r_scores)
        diagnostics.update(r_diag)
        diagnostics["predict_seconds"] += r_diag["rank_seconds"]
        if per_user:
            frame.update(r_frame)

    diagnostics["eval_seconds"] = time.perf_counter() - started
    if not per_user:
        return Evaluation(scores, diagnostics, None)
    n_test = np.bincount(test.user, minlength=train.n_users)
    folded_mask = folded_row[test_users] >= 0
    head = {
        "user": test_users,
        "user_id": train.users.id_of(test_users),
        "n_train": np.where(folded_mask, hist_counts[test_users], train_counts[test_users]),
        "folded": folded_mask,
        "n_test": n_test[test_users],
        "cold_pairs": np.bincount(test.user, weights=cold_pair, minlength=train.n_users)[
            test_users
        ].astype(np.int64),
    }
    frame.pop("user")
    table = pd.DataFrame({**head, **frame})
    table.attrs["n_items"] = train.n_items
    return Evaluation(scores, diagnostics, table)


#: names this module re-exports from `workbench.protocol` (the old home of the protocol)
__all__ = [
    "DEFAULT_THRESHOLD_FRACTION",
    "PROTOCOL_FIELDS",
    "Evaluation",
    "EvaluationProtocol",
    "check_metrics_fit",
    "check_protocol_value",
    "default_threshold",
    "evaluate",
]


def __getattr__(name: str) -> Any:
    if name == "Protocol":  # its first name, which shadowed typing.Protocol
        import warnings

        warnings.warn(
            "workbench.evaluation.Protocol is now workbench.protocol.EvaluationProtocol; "
            "import that (the old name is deprecated)",
            DeprecationWarning,
            stacklevel=2,
        )
        return EvaluationProtocol
    raise AttributeError(f"module 'workbench.evaluation' has no attribute {name!r}")
