"""Compiled hot loops of kernel matrix factorisation (Rendle and Schmidt-Thieme 2008).

Predictions map a kernel of ``p_u`` and ``q_i`` onto the rating scale ``[lo, lo + span]``:

- linear (0): ``c + b_u + b_i + p_u . q_i`` (``c`` is the mean rating);
- sigmoid (1): ``lo + span * sigmoid(c + b_u + b_i + p_u . q_i)`` (``c`` is the logit of the
  mean rating's position in the scale, so an untrained model predicts the mean);
- rbf (2): ``c + b_u + b_i + span * exp(-gamma ||p_u - q_i||^2)`` (``c`` centres the
  kernel term on the mean rating; it is re-fitted after every epoch).

numba, float32, fixed operation order (exactly reproducible); see `workbench_sgd._kernels`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from workbench_sgd._kernels import LANES, dot, factor_step, sqdist

LINEAR, SIGMOID, RBF = 0, 1, 2


@njit(cache=True, fastmath=False, inline="always")
def _sigmoid(x: np.float32) -> np.float32:
    if x >= 0:
        return np.float32(1.0) / (np.float32(1.0) + np.float32(math.exp(-x)))
    e = np.float32(math.exp(x))
    return e / (np.float32(1.0) + e)


@njit(cache=True, fastmath=False, inline="always")
def _kernel_epoch(
    kernel: int,
    users: np.ndarray,
    items: np.ndarray,
    values: np.ndarray,
    c: np.float32,
    lo: np.float32,
    span: np.float32,
    gamma: np.float32,
    bu: np.ndarray,
    bi: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    lr: np.float32,
    reg: np.float32,
    reg_bias: np.float32,
    update_items: bool,
) -> tuple[float, float]:
    """One SGD pass over the ratings in the given order; returns (sum of squared errors,
    sum of errors) of the predictions made before each update.

    Squared loss; every parameter ``x`` moves by ``lr (e d(pred)/dx - reg x)`` (``reg_bias``
    for biases), with the gradients taken at the old values.
    """
    n_factors = p.shape[1]
    acc = np.zeros(LANES, dtype=np.float32)
    sse = 0.0
    total = 0.0
    two_gamma = np.float32(2.0) * gamma
    for t in range(users.shape[0]):
        u = users[t]
        i = items[t]
        pu = p[u]
        qi = q[i]
        if kernel == RBF:
            k = np.float32(math.exp(-gamma * sqdist(pu, qi, acc)))
            pred = c + bu[u] + bi[i] + span * k
            g_bias = np.float32(1.0)
            g_fac = span * k * two_gamma
        else:
            zed = c + bu[u] + bi[i] + dot(pu, qi, acc)
            if kernel == SIGMOID:
                s = _sigmoid(zed)
                pred = lo + span * s
                g_bias = span * s * (np.float32(1.0) - s)
            else:
                pred = zed
                g_bias = np.float32(1.0)
            g_fac = g_bias
        err = values[t] - pred
        sse += float(err) * float(err)
        total += float(err)
        ge_bias = err * g_bias
        ge = err * g_fac
        bu[u] += lr * (ge_bias - reg_bias * bu[u])
        if update_items:
            bi[i] += lr * (ge_bias - reg_bias * bi[i])
        if kernel == RBF:  # gradients of pred: -g_fac (p - q) for p, +g_fac (p - q) for q
            if update_items:
                for f in range(n_factors):
                    pf = pu[f]
                    qf = qi[f]
                    diff = pf - qf
                    pu[f] = pf + lr * (-ge * diff - reg * pf)
                    qi[f] = qf + lr * (ge * diff - reg * qf)
            else:
                for f in range(n_factors):
                    pf = pu[f]
                    pu[f] = pf + lr * (-ge * (pf - qi[f]) - reg * pf)
        else:
            factor_step(pu, qi, ge, lr, reg, update_items)
    return sse, total


# One compiled loop per kernel: the kernel is a constant inside each, so its branches fold
# away at compile time.
@njit(cache=True, fastmath=False)
def linear_epoch(users, items, values, c, lo, span, gamma, bu, bi, p, q, lr, reg, reg_bias,
                 update_items):  # fmt: skip
    """`_kernel_epoch` with the linear kernel."""
    return _kernel_epoch(LINEAR, users, items, values, c, lo, span, gamma, bu, bi, p, q, lr,
                         reg, reg_bias, update_items)  # fmt: skip


@njit(cache=True, fastmath=False)
def sigmoid_epoch(users, items, values, c, lo, span, gamma, bu, bi, p, q, lr, reg, reg_bias,
                  update_items):  # fmt: skip
    """`_kernel_epoch` with the sigmoid kernel."""
    return _kernel_epoch(SIGMOID, users, items, values, c, lo, span, gamma, bu, bi, p, q, lr,
                         reg, reg_bias, update_items)  # fmt: skip


@njit(cache=True, fastmath=False)
def rbf_epoch(users, items, values, c, lo, span, gamma, bu, bi, p, q, lr, reg, reg_bias,
              update_items):  # fmt: skip
    """`_kernel_epoch` with the rbf kernel."""
    return _kernel_epoch(RBF, users, items, values, c, lo, span, gamma, bu, bi, p, q, lr,
                         reg, reg_bias, update_items)  # fmt: skip


EPOCHS = (linear_epoch, sigmoid_epoch, rbf_epoch)


@njit(cache=True, fastmath=False)
def kernel_predict(
    users: np.ndarray,
    items: np.ndarray,
    kernel: int,
    c: np.float32,
    lo: np.float32,
    span: np.float32,
    gamma: np.float32,
    bu: np.ndarray,
    bi: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
) -> np.ndarray:
    """Predictions for index pairs; an index outside the arrays is cold (zero bias, zero
    vector: the prior mean of the parameters)."""
    acc = np.zeros(LANES, dtype=np.float32)
    zero = np.zeros(p.shape[1], dtype=np.float32)
    out = np.empty(users.shape[0], dtype=np.float32)
    for t in range(users.shape[0]):
        u = users[t]
        i = items[t]
        known_u = 0 <= u < p.shape[0]
        known_i = 0 <= i < q.shape[0]
        b = c
        pu = zero
        qi = zero
        if known_u:
            b += bu[u]
            pu = p[u]
        if known_i:
            b += bi[i]
            qi = q[i]
        if kernel == RBF:
            out[t] = b + span * np.float32(math.exp(-gamma * sqdist(pu, qi, acc)))
        elif kernel == SIGMOID:
            out[t] = lo + span * _sigmoid(b + dot(pu, qi, acc))
        else:
            out[t] = b + dot(pu, qi, acc)
    return out
