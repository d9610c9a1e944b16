"""The metric contract. Concrete metrics are plugins (``workbench_metrics``).

A metric has a ``category`` that tells the evaluation protocol what it needs:

- ``rating``: predictions of test pairs vs true values (`RatingMetric.compute`).
- ``ranking``: each user's top-k list vs their relevant test items, averaged over users with
  at least one relevant item (`RankingMetric`).
- ``list``: properties of all recommended lists together (coverage, novelty, ...).

See `workbench.evaluation` for the protocol and the exact arguments.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from workbench.component import Component

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
