"""The evaluation protocol: rating and ranking metrics of a fitted model on one split.

What `evaluate` does (docs/metrics.md has the full text and every formula):

- **Rating metrics** score every test pair with ``model.predict``; predictions are clipped to
  the training data's rating scale unless ``Protocol(clip=False)``. A time-aware model
  (``uses_timestamps``) gets each test pair's timestamp when the test set has them.
- **Ranking and list metrics** share ONE scoring pass: each test user's scores over all items
  they did not interact with in train (``exclude_seen``) are computed in blocks of users, the
  top-K list is taken once with K = the largest k asked for, and each metric reads its prefix;
  tied scores are ranked in a random item order fixed by the protocol's seed.
  No sampled negatives unless ``Protocol(negatives=N)`` asks for them.
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
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.data import IdMap, Interactions
from workbench.errors import DataError, ParamError, WorkbenchError
from workbench.metric import ListMetric, Metric, RankingMetric, RatingMetric
from workbench.model import FoldedUsers, Model
from workbench.ranking import ModelTimer, evaluate_ranking
from workbench.splits import Split

#: Where the default relevance threshold sits on a rating scale lo..hi: lo + 0.75 (hi - lo),
#: i.e. 4 on 1..5, 3.875 on 0.5..5 (so 4, 4.5 and 5 are relevant), 7.75 on 1..10.
DEFAULT_THRESHOLD_FRACTION = 0.75

#: Pairs predicted per call of ``model.predict`` (bounds memory).
PREDICT_CHUNK = 1 << 20


def default_threshold(scale: tuple[float, float]) -> float:
    """The default relevance threshold of a rating scale: ``lo + 0.75 (hi - lo)``."""
    lo, hi = scale
    return float(lo + DEFAULT_THRESHOLD_FRACTION * (hi - lo))


#: The settings of a `Protocol`, in order.
PROTOCOL_FIELDS = ("relevance_threshold", "exclude_seen", "clip", "negatives", "seed")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def check_protocol_value(name: str, value: Any) -> Any:
    """``value`` checked (strictly: ``"false"`` is not a boolean) and normalised for protocol
    setting ``name``; a one-line `ParamError` naming the setting and what it expects."""
    def fail(expected: str) -> ParamError:
        return ParamError(f"protocol: '{name}' must be {expected}, got {value!r}")

    if name in ("exclude_seen", "clip"):
        if not isinstance(value, bool | np.bool_):
            raise fail("true or false (a boolean, not a string)")
        return bool(value)
    if name == "relevance_threshold":
        if value is None:
            return None
        if not (_is_int(value) or isinstance(value, float | np.floating)):
            raise fail("a finite number or None")
        if not np.isfinite(value):
            raise fail("a finite number or None")
        return float(value)
    if name == "negatives":
        if value is None:
            return None
        if not _is_int(value) or value < 1:
            raise fail("an integer >= 1 or None")
        return int(value)
    if name == "seed":
        if not _is_int(value) or value < 0:
            raise fail("an integer >= 0")
        return int(value)
    raise ParamError(f"unknown protocol setting '{name}' (allowed: {', '.join(PROTOCOL_FIELDS)})")


@dataclass(frozen=True)
class Protocol:
    """How a model is evaluated; recorded in every result (`as_dict`)."""

    #: Ratings at or above this are relevant; None: ``lo + 0.75 (hi - lo)`` of the rating scale
    #: (4.0 on 1..5). Ignored for implicit data, where every test item is relevant.
    relevance_threshold: float | None = None
    #: Rank only items the user did not interact with in train (or in the fold-in history).
    exclude_seen: bool = True
    #: Clip rating predictions to the rating scale before rating metrics.
    clip: bool = True
    #: Rank each user's relevant items among N sampled non-relevant unseen items instead of
    #: among all unseen items (None: all; only when asked for explicitly).
    negatives: int | None = None
    #: Seed of the protocol's random choices: negative sampling and the order of tied scores.
    seed: int = 0

    def __post_init__(self) -> None:
        for name in PROTOCOL_FIELDS:
            object.__setattr__(self, name, check_protocol_value(name, getattr(self, name)))

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Protocol:
        """A protocol from a mapping of its fields (TOML, ``protocol={...}``); an unknown key
        or a value of the wrong type is a one-line `ParamError` naming the key."""
        if not isinstance(values, Mapping):
            raise ParamError(f"protocol: expected a table of settings, got {values!r}")
        unknown = sorted(str(k) for k in values if k not in PROTOCOL_FIELDS)
        if unknown:
            raise ParamError(
                f"unknown protocol setting '{unknown[0]}' (allowed: {', '.join(PROTOCOL_FIELDS)})"
            )
        return cls(**values)

    def threshold_for(self, data: Interactions) -> float | None:
        """The relevance threshold used on ``data`` (None for implicit data)."""
        if data.kind == "implicit":
            return None
        if self.relevance_threshold is not None:
            return float(self.relevance_threshold)
        scale = data.rating_scale
        if scale is None:
            scale = (float(data.value.min()), float(data.value.max())) if len(data) else (1, 5)
        return default_threshold(scale)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["candidates"] = (
            "all items unseen in train"
            if self.negatives is None
            else f"relevant items + {self.negatives} sampled unseen non-relevant items"
        )
        out["relevance"] = (
            "test rating >= relevance_threshold (default lo + 0.75 (hi - lo) of the rating "
            "scale: 4 on 1..5); every test item for implicit data"
        )
        out["averaging"] = "mean over test users with at least one relevant test item"
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Protocol:
        """Rebuild from `as_dict` output (descriptive keys are ignored)."""
        return cls(**{k: v for k, v in data.items() if k in PROTOCOL_FIELDS})


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


def _overlap(a: Interactions, b: Interactions, n_items: int) -> int:
    """How many (user, item) pairs of ``b`` also occur in ``a`` (sort + binary search)."""
    if len(a) == 0 or len(b) == 0:
        return 0
    keys = np.sort(a.user.astype(np.int64) * n_items + a.item)
    query = b.user.astype(np.int64) * n_items + b.item
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return int((keys[pos] == query).sum())


def _leaks(split: Split) -> None:
    n_items = split.train.n_items
    leaked = _overlap(split.train, split.test, n_items)
    if leaked:
        raise DataError(
            f"split fold {split.fold}: {leaked} test (user, item) pairs also occur in train; "
            "the splitter leaks test data into training"
        )
    if split.history is not None:
        overlap = _overlap(split.history, split.test, n_items)
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
    protocol: Protocol,
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
    protocol: Protocol | None = None,
    *,
    per_user: bool = False,
) -> Evaluation:
    """Evaluate a model fitted on ``split.train`` on ``split.test`` (see the module docs)."""
    protocol = protocol or Protocol()
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
