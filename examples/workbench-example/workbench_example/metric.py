"""``gini``: how unequally the recommendations are spread over the catalogue."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from workbench import Params
from workbench.metric import ListContext, ListMetric


class Gini(ListMetric):
    """Gini index of item exposure in the top-k lists: 0 = every item recommended equally
    often, 1 = every recommendation is the same item (lower is better).

    With c_1 <= ... <= c_n the number of top-k lists each of the n catalogue items appears in
    (items never recommended count 0)::

        gini@k = sum_j (2j - n - 1) c_j / ((n - 1) sum_j c_j)

    The same as sum_i sum_j |c_i - c_j| / (2 n (n - 1) mean(c)); NaN when nothing was
    recommended or the catalogue has one item.
    """

    name = "gini"
    higher_is_better: ClassVar[bool] = False

    class Params(Params):
        k: int = Field(10, ge=1, description="length of the recommended lists")

    def compute(self, lists: np.ndarray, context: ListContext) -> float:
        top = np.asarray(lists, dtype=np.int64)[:, : self.params.k]
        n = int(context.n_items)
        shown = top[top >= 0]
        if n < 2 or len(shown) == 0:
            return float("nan")
        counts = np.sort(np.bincount(shown, minlength=n)).astype(np.float64)
        ranks = np.arange(1, n + 1, dtype=np.float64)
        return float(np.sum((2 * ranks - n - 1) * counts) / ((n - 1) * counts.sum()))
