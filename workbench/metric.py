"""The metric contract. Concrete metrics are plugins (``workbench_metrics``).

A metric has a ``category`` that tells the evaluation protocol what it needs:

- ``rating``: predictions of test pairs vs true values (`RatingMetric.compute`).
- ``ranking``: each user's top-k list vs their relevant test items, averaged over users with
  at least one relevant item (`RankingMetric.compute`, vectorised over a `RankingBatch`).
- ``list``: properties of all recommended lists together (coverage, novelty, ...;
  `ListMetric.compute` with a `ListContext`).

See `workbench.evaluation` for the protocol and docs/metrics.md for every formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from workbench.component import Component

if TYPE_CHECKING:
    from workbench.data import Interactions
    from workbench.model import Model

Category = Literal["rating", "ranking", "list"]


class Metric(Component):
    """Base class of metric plugins."""

    kind: ClassVar[str] = "metric"
    category: ClassVar[Category] = "ranking"
    higher_is_better: ClassVar[bool] = True
    #: Feedback kinds the metric makes sense for (RMSE needs explicit ratings).
    feedback: ClassVar[frozenset[str]] = frozenset({"explicit", "implicit"})

    @property
    def label(self) -> str:
        """The column name in results, e.g. ``ndcg@10`` (``name@k`` when the metric has k)."""
        k = self.get_params().get("k")
        return f"{self.name}@{k}" if k is not None else self.name


def _qualified_label(metric: Metric) -> str:
    """``name@k`` plus non-default parameters other than k: ``ndcg@10[gain=graded]``."""
    base = Metric.label.fget(metric)  # type: ignore[attr-defined]
    defaults = {p.name: p.default for p in metric.describe_params()}
    extra = [
        f"{key}={value}"
        for key, value in metric.get_params().items()
        if key != "k" and defaults.get(key) != value
    ]
    return f"{base}[{','.join(extra)}]" if extra else base


class RatingMetric(Metric):
    """A metric of rating predictions on test pairs (RMSE, MAE)."""

    category: ClassVar[Category] = "rating"
    higher_is_better: ClassVar[bool] = False
    feedback: ClassVar[frozenset[str]] = frozenset({"explicit"})

    @property
    def label(self) -> str:
        return _qualified_label(self)

    def compute(self, truth: np.ndarray, predicted: np.ndarray) -> float:
        """The metric over all test pairs (``predicted`` already clipped when asked)."""
        raise NotImplementedError  # abstractmethod: every rating metric implements it


@dataclass
class RankingBatch:
    """Top-K lists of a batch of users and what is relevant to each of them.

    Row r is one user. ``K`` is the largest k any metric of the evaluation asked for; a metric
    with ``k <= K`` uses the first ``k`` columns (`head`). Padded positions (item -1: fewer
    than K candidates) are never hits.
    """

    items: np.ndarray  # (n, K) int64 item indices, best first; -1 = padding
    hits: np.ndarray  # (n, K) bool: the item at that rank is relevant
    grades: np.ndarray  # (n, K) float64: relevance grade of each hit (0 for misses)
    ideal: np.ndarray  # (n, >= K) float64: the user's best grades, descending (0 padded)
    n_relevant: np.ndarray  # (n,) int64: relevant test items of the user
    n_candidates: np.ndarray  # (n,) int64: items that were ranked (unseen, or sampled)
    #: Full score rows (column = item index, ``-inf`` = not a candidate); only filled when a
    #: metric sets ``needs_scores`` (AUC).
    scores: np.ndarray | None = None
    #: (n, n_items) relevance grades as CSR (sorted indices); with ``scores``.
    relevant: sp.csr_matrix | None = None

    def __len__(self) -> int:
        return len(self.n_relevant)

    def head(self, k: int) -> RankingBatch:
        """The same batch cut to the first ``k`` ranks (padded with misses if k > K)."""
        n = self.items.shape[0]

        def fit(a: np.ndarray, fill: float) -> np.ndarray:
            if a.shape[1] >= k:
                return a[:, :k]
            return np.hstack([a, np.full((n, k - a.shape[1]), fill, dtype=a.dtype)])

        return RankingBatch(
            fit(self.items, -1),
            fit(self.hits, False),
            fit(self.grades, 0.0),
            fit(self.ideal, 0.0),
            self.n_relevant,
            self.n_candidates,
            self.scores,
            self.relevant,
        )

    @classmethod
    def from_lists(
        cls,
        items: Sequence[Sequence[int]] | np.ndarray,
        relevant: Sequence[Sequence[int]],
        *,
        grades: Sequence[Sequence[float]] | None = None,
        n_candidates: Sequence[int] | None = None,
        scores: np.ndarray | None = None,
    ) -> RankingBatch:
        """Build a batch from plain lists (tests, notebooks): ranked items per user
        (-1 = padding), relevant items per user and optionally their grades."""
        from workbench.ranking import Relevance

        arr = np.asarray(items, dtype=np.int64)
        if arr.ndim != 2:
            raise ValueError("items must be a 2-d array: one ranked list per user")
        grade_lists = grades if grades is not None else [[1.0] * len(r) for r in relevant]
        n_items = int(max([arr.max(initial=-1)] + [max(r, default=-1) for r in relevant])) + 1
        if scores is not None:
            n_items = max(n_items, scores.shape[1])
        rel = Relevance.from_lists(relevant, grade_lists, n_items=max(n_items, 1))
        cand = (
            np.asarray(n_candidates, dtype=np.int64)
            if n_candidates is not None
            else np.full(len(arr), max(n_items, 1), dtype=np.int64)
        )
        width = max(arr.shape[1], int(rel.counts().max(initial=0)))
        return rel.batch(0, len(arr), arr, cand, scores=scores, ideal_width=width)


class RankingMetric(Metric):
    """A metric of each user's top-k list; ``compute`` returns one value per user.

    The evaluation averages the values over users with at least one relevant test item;
    NaN values (undefined for that user) are left out of the average.
    """

    category: ClassVar[Category] = "ranking"
    #: Whether `compute` needs the full score rows (``batch.scores``), e.g. AUC.
    needs_scores: ClassVar[bool] = False

    @property
    def label(self) -> str:
        return _qualified_label(self)

    @property
    def depth(self) -> int:
        """How many ranks of the list the metric reads (its ``k``; 0 if it has none)."""
        return int(self.get_params().get("k") or 0)

    def compute(self, batch: RankingBatch) -> np.ndarray:
        """Per-user values (shape ``(len(batch),)``, float64) for users with relevant items."""
        raise NotImplementedError  # abstractmethod: every ranking metric implements it


@dataclass
class ListContext:
    """What list metrics may need besides the lists themselves."""

    n_items: int  # size of the catalogue (the item id space)
    item_counts: np.ndarray  # training interactions per item (popularity)
    n_train_users: int  # users with at least one training interaction
    train: Interactions | None = None
    model: Model | None = None
    cache: dict[str, Any] = field(default_factory=dict)


class ListMetric(Metric):
    """A metric of all recommended lists together (one value for the whole test set)."""

    category: ClassVar[Category] = "list"

    @property
    def label(self) -> str:
        return _qualified_label(self)

    @property
    def depth(self) -> int:
        return int(self.get_params().get("k") or 0)

    def compute(self, lists: np.ndarray, context: ListContext) -> float:
        """``lists``: (n_users, K) top-K item indices of every scored user (-1 = padding);
        use the first ``k`` columns."""
        raise NotImplementedError  # abstractmethod: every list metric implements it

    def check_data(self, data: Interactions) -> None:
        """Raise `DataError` before training if ``data`` cannot support this metric."""
