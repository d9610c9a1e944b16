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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from workbench.component import Component
from workbench.relevance import RankingBatch

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
