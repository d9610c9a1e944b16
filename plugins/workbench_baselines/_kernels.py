"""Compiled SGD pass for user and item biases (numba, float32, fixed operation order)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath=False)
def bias_sgd_epoch(
    users: np.ndarray,
    items: np.ndarray,
    values: np.ndarray,
    mu: np.float32,
    bu: np.ndarray,
    bi: np.ndarray,
    lr: np.float32,
    reg_user: np.float32,
    reg_item: np.float32,
) -> float:
    """One SGD pass in the given order (Surprise's BaselineOnly with ``method='sgd'``).

    ``e = r - (mu + b_u + b_i)``, then ``b_u += lr (e - reg_user b_u)`` and
    ``b_i += lr (e - reg_item b_i)``. Returns the sum of squared errors before each update.
    """
    sse = 0.0
    for t in range(users.shape[0]):
        u = users[t]
        i = items[t]
        err = values[t] - (mu + bu[u] + bi[i])
        sse += float(err) * float(err)
        bu[u] += lr * (err - reg_user * bu[u])
        bi[i] += lr * (err - reg_item * bi[i])
    return sse
