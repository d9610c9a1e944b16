"""A third-party model compared with the built-ins, two ways.

1. By name: the example plugin (``examples/workbench-example``, installed by ``make setup``)
   registers ``item-knn``; once installed it is used exactly like a built-in model.
2. As an instance: any `workbench.Model` subclass, registered or not, can be passed to
   ``compare`` directly, here a small item-average model written inline.

    python docs/examples/third_party_model.py
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

import workbench as wb
from workbench.data import Interactions
from workbench.params import Params
from workbench.plugins import get_registry


class ItemAverage(wb.Model):
    """The shrunken mean rating of each item; everyone gets the same list."""

    name = "item-average"
    capabilities = wb.Capabilities(
        cold_start=wb.ColdStart(user="the item scores", item="the mean item score")
    )

    class Params(Params):
        shrink: float = Field(10.0, ge=0, description="pulls rarely rated items to the mean")

    def _fit(self, train: Interactions, *, callback: Any, validation: Any) -> None:
        mu = float(train.value.mean())
        sums = np.bincount(train.item, train.value - mu, minlength=train.n_items)
        self.mu_ = mu
        self.item_score_ = (mu + sums / (train.item_counts() + self.shrink)).astype(np.float32)

    def _user_state(self, users: np.ndarray) -> wb.UserState:
        return wb.UserState.of(n_rows=len(users))  # the same scores for everyone

    def _score(self, state: wb.UserState, items: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.item_score_[items], (len(state), len(items)))

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"mu": np.asarray(self.mu_), "item_score": self.item_score_}

    def _set_state_arrays(self, arrays: Any) -> None:
        self.mu_ = float(arrays["mu"])
        self.item_score_ = np.asarray(arrays["item_score"])


data = wb.load_dataset("synthetic", n_users=600, n_items=400, n_interactions=30000)
models: list[Any] = ["biases", "popularity", "sgd n_factors=50 n_epochs=30"]
if "item-knn" in get_registry().names("model"):
    models.append("item-knn k=40")  # the example plugin, by name
else:
    print("(the example plugin is not installed: pip install -e examples/workbench-example)")
models.append(("item-average (inline)", ItemAverage(shrink=5)))  # an unregistered instance

results = wb.compare(
    data, "kfold n_folds=3", models, ["rmse", "ndcg@10", "recall@10", "coverage@10"], seed=42
)
print(results.summary().round(4).to_string())
print("\nPaired tests, best model vs each other (corrected t-test p-values):")
sig = results.metadata["significance"]
for row in sig:
    if row["metric"] in ("rmse", "ndcg@10"):
        print(
            f"  {row['metric']:8s} {row['best']:>12s} vs {row['other']:<22s} "
            f"diff {row['mean_diff']:+.4f}  p {row['corrected_pvalue']:.3f}"
        )
