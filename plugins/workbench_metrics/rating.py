"""Rating metrics: errors of predicted ratings on the test pairs."""

from __future__ import annotations

import numpy as np

from workbench.metric import RatingMetric


class RMSE(RatingMetric):
    """Root mean squared error of rating predictions.

    RMSE = sqrt( (1/|T|) sum_{(u,i) in T} (r_ui - p_ui)^2 ), over all test pairs T, with the
    prediction p_ui clipped to the rating scale (unless the protocol says clip=false).
    Lower is better.
    """

    name = "rmse"

    def compute(self, truth: np.ndarray, predicted: np.ndarray) -> float:
        if len(truth) == 0:
            return float("nan")
        err = np.asarray(predicted, np.float64) - np.asarray(truth, np.float64)
        return float(np.sqrt(np.mean(err * err)))


class MAE(RatingMetric):
    """Mean absolute error of rating predictions.

    MAE = (1/|T|) sum_{(u,i) in T} |r_ui - p_ui|, over all test pairs T, predictions clipped to
    the rating scale (unless the protocol says clip=false). Lower is better.
    """

    name = "mae"

    def compute(self, truth: np.ndarray, predicted: np.ndarray) -> float:
        if len(truth) == 0:
            return float("nan")
        err = np.asarray(predicted, np.float64) - np.asarray(truth, np.float64)
        return float(np.mean(np.abs(err)))
