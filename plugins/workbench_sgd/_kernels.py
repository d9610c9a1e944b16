"""Compiled hot loops of biased matrix factorisation (numba).

Everything is float32 with a fixed order of operations (``fastmath=False``), so a run is
exactly reproducible from its seed: the shuffle order and the initial values are drawn in
Python from ``numpy.random.default_rng(seed)`` and passed in. Compiled code is cached on
disk (``cache=True``), so only the first run on a machine pays the compile time.

Reductions (dot products, squared distances) sum into 16 independent lanes in a fixed
order, which the compiler turns into one vector register per block of 16 factors without
reassociating anything (see `dot`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from workbench._data_kernels import bucket_starts
from workbench.factor.kernels import LANES, dot
from workbench.factor.kernels import reduce_lanes as _reduce


@njit(cache=True, fastmath=False, inline="always")
def sqdist(a: np.ndarray, b: np.ndarray, acc: np.ndarray) -> np.float32:
    """``||a - b||^2``, summed in the same lane order as `dot`."""
    n = a.shape[0]
    for j in range(LANES):
        acc[j] = np.float32(0.0)
    k = 0
    while k + LANES <= n:
        for j in range(LANES):
            d = a[k + j] - b[k + j]
            acc[j] += d * d
        k += LANES
    s = _reduce(acc)
    while k < n:
        d = a[k] - b[k]
        s += d * d
        k += 1
    return s


@njit(cache=True, fastmath=False, inline="always")
def factor_step(
    pu: np.ndarray, qi: np.ndarray, err: np.float32, lr: np.float32, reg: np.float32,
    update_items: bool,
) -> None:
    """The SGD step of a factor pair for the error ``err`` (gradients at the old values):
    ``p_uf += lr (err q_if - reg p_uf)`` and, with ``update_items``, ``q_if += lr (err p_uf -
    reg q_if)``. Shared by the biased MF, kernel MF and SVD++ kernels (inlined, so each
    compiles the same float32 operations in the same order as its own loop did)."""
    if update_items:
        for f in range(pu.shape[0]):
            pf = pu[f]
            qf = qi[f]
            pu[f] = pf + lr * (err * qf - reg * pf)
            qi[f] = qf + lr * (err * pf - reg * qf)
    else:
        user_step(pu, qi, err, lr, reg)


@njit(cache=True, fastmath=False, inline="always")
def user_step(pu: np.ndarray, qi: np.ndarray, err: np.float32, lr: np.float32,
              reg: np.float32) -> None:  # fmt: skip
    """`factor_step` of the user's factors only (fold-in): ``p_uf += lr (err q_if - reg p_uf)``."""
    for f in range(pu.shape[0]):
        pf = pu[f]
        pu[f] = pf + lr * (err * qi[f] - reg * pf)


@njit(cache=True, fastmath=False)
def gather(
    order: np.ndarray,
    users: np.ndarray,
    items: np.ndarray,
    values: np.ndarray,
    out_users: np.ndarray,
    out_items: np.ndarray,
    out_values: np.ndarray,
) -> None:
    """Copy the ratings into epoch order (sequential reads in the SGD loop are much faster
    than reading through the permutation)."""
    for t in range(order.shape[0]):
        idx = order[t]
        out_users[t] = users[idx]
        out_items[t] = items[idx]
        out_values[t] = values[idx]


@njit(cache=True, fastmath=False, inline="always")
def _mf_steps(
    lo: int,
    hi: int,
    users: np.ndarray,
    items: np.ndarray,
    values: np.ndarray,
    mu: np.float32,
    bu: np.ndarray,
    bi: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    lr: np.float32,
    reg: np.float32,
    reg_bias: np.float32,
    biased: bool,
    update_items: bool,
) -> float:
    """The SGD updates of ratings ``lo..hi-1`` in order (the body of `mf_epoch`)."""
    acc = np.zeros(LANES, dtype=np.float32)
    sse = 0.0
    for t in range(lo, hi):
        u = users[t]
        i = items[t]
        pu = p[u]
        qi = q[i]
        pred = mu + bu[u] + bi[i] + dot(pu, qi, acc)
        err = values[t] - pred
        sse += float(err) * float(err)
        if biased:
            bu[u] += lr * (err - reg_bias * bu[u])
            if update_items:
                bi[i] += lr * (err - reg_bias * bi[i])
        factor_step(pu, qi, err, lr, reg, update_items)
    return sse


@njit(cache=True, fastmath=False)
def mf_epoch(
    users: np.ndarray,
    items: np.ndarray,
    values: np.ndarray,
    mu: np.float32,
    bu: np.ndarray,
    bi: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    lr: np.float32,
    reg: np.float32,
    reg_bias: np.float32,
    biased: bool,
    update_items: bool,
) -> float:
    """One SGD pass over the ratings in the given order (Koren, Bell and Volinsky 2009);
    returns the sum of squared errors of the predictions made before each update.

    For rating ``r`` of user ``u`` on item ``i``: ``e = r - (mu + bu + bi + p_u . q_i)``, then
    ``bu += lr (e - reg_bias bu)``, ``bi`` likewise, and for every factor ``f`` (using the
    old values) ``p_uf += lr (e q_if - reg p_uf)``, ``q_if += lr (e p_uf - reg q_if)``.
    With ``biased`` false the biases stay zero; with ``update_items`` false only user
    parameters move (fold-in).
    """
    return _mf_steps(
        0, users.shape[0], users, items, values, mu, bu, bi, p, q, lr, reg, reg_bias, biased,
        update_items,
    )


@njit(cache=True)
def grid_order(
    users: np.ndarray, items: np.ndarray, user_group: np.ndarray, item_group: np.ndarray,
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The ratings' positions regrouped for `mf_epoch_grid` (a stable counting sort): the
    ``n_groups ** 2`` blocks of (user group a, item group b) in round ``(b - a) % n_groups``,
    then ``a``; each block's ratings in their given order. Returns the order and the
    ``n_groups ** 2 + 1`` block starts."""
    g = n_groups
    start = np.zeros(g * g + 1, dtype=np.int64)
    n = users.shape[0]
    for t in range(n):
        a = user_group[users[t]]
        b = item_group[items[t]]
        start[((b - a) % g) * g + a + 1] += 1
    for c in range(g * g):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for t in range(n):
        a = user_group[users[t]]
        b = item_group[items[t]]
        c = ((b - a) % g) * g + a
        order[fill[c]] = t
        fill[c] += 1
    return order, start


@njit(cache=True)
def least_loaded_groups(order: np.ndarray, counts: np.ndarray, n_groups: int) -> np.ndarray:
    """The group of each value: in ``order``, each value goes to the group whose
    ``counts`` add up to the least so far (the lowest-numbered on a tie)."""
    load = np.zeros(n_groups, dtype=np.int64)
    groups = np.empty(counts.shape[0], dtype=np.int64)
    for v in order:
        best = 0
        for g in range(1, n_groups):
            if load[g] < load[best]:
                best = g
        groups[v] = best
        load[best] += counts[v]
    return groups


#: splitmix64's increment (the golden ratio in 64 bits).
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def _mix(x: np.uint64) -> np.uint64:
    """splitmix64's output function (Steele, Lea and Flood 2014)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, inline="always")
def _below(state: np.ndarray, n: int) -> int:
    """A random integer in ``0..n-1`` (n < 2**32) from the splitmix64 stream ``state[0]``."""
    state[0] += _GOLDEN
    return int(((_mix(state[0]) >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@njit(cache=True, inline="always")
def _shuffle_cell(
    lo: int, hi: int, block_size: int, seed: int, cell: int,
    users: np.ndarray, items: np.ndarray, values: np.ndarray,
    out_users: np.ndarray, out_items: np.ndarray, out_values: np.ndarray,
) -> None:
    """Copy ratings ``lo..hi-1`` (one grid cell, sorted by user) to the same positions of
    the ``out_`` arrays in a blocked random order: runs of ``block_size`` consecutive
    ratings in a random order, each run shuffled (Fisher-Yates). The random numbers come
    from a splitmix64 stream of its own per (``seed``, ``cell``), so the order does not
    depend on which thread draws it, nor when."""
    state = np.empty(1, dtype=np.uint64)
    state[0] = _mix(np.uint64(seed) ^ (np.uint64(cell + 1) * _GOLDEN))
    n_runs = (hi - lo + block_size - 1) // block_size
    runs = np.arange(n_runs)
    for k in range(n_runs - 1, 0, -1):
        j = _below(state, k + 1)
        runs[k], runs[j] = runs[j], runs[k]
    local = np.empty(min(block_size, hi - lo), dtype=np.int64)
    pos = lo
    for b in runs:
        start = lo + b * block_size
        m = min(start + block_size, hi) - start
        for k in range(m):
            local[k] = start + k
        for k in range(m - 1, 0, -1):
            j = _below(state, k + 1)
            local[k], local[j] = local[j], local[k]
        for k in range(m):
            idx = local[k]
            out_users[pos] = users[idx]
            out_items[pos] = items[idx]
            out_values[pos] = values[idx]
            pos += 1


@njit(cache=True)
def grid_shuffle(
    starts: np.ndarray, n_groups: int, block_size: int, seed: int,
    users: np.ndarray, items: np.ndarray, values: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ratings in the order `mf_epoch_grid` visits them (one thread; for tests and
    for comparing with the serial `mf_epoch`)."""
    out_users, out_items = np.empty_like(users), np.empty_like(items)
    out_values = np.empty_like(values)
    for c in range(n_groups * n_groups):
        _shuffle_cell(
            starts[c], starts[c + 1], block_size, seed, c, users, items, values, out_users,
            out_items, out_values,
        )
    return out_users, out_items, out_values


@njit(cache=True, fastmath=False, parallel=True)
def mf_epoch_grid(
    users: np.ndarray,
    items: np.ndarray,
    values: np.ndarray,
    starts: np.ndarray,
    n_groups: int,
    block_size: int,
    seed: int,
    work_users: np.ndarray,
    work_items: np.ndarray,
    work_values: np.ndarray,
    mu: np.float32,
    bu: np.ndarray,
    bi: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    lr: np.float32,
    reg: np.float32,
    reg_bias: np.float32,
    biased: bool,
    update_items: bool,
) -> float:
    """One epoch of LIBMF's block scheduling (Chin et al. 2015) with a fixed schedule, over
    ratings in `grid_order` (cell by cell, each cell sorted by user): in each of
    ``n_groups`` rounds the ``n_groups`` cells share no user group and no item group, so
    they run on parallel threads without touching the same parameters. Each cell is
    shuffled on its thread (`_shuffle_cell`, into the ``work_`` arrays) and then updated in
    that order as `mf_epoch` does. The result is the same bit for bit whatever the number
    of threads (and the numba cache state): `mf_epoch` over `grid_shuffle`'s order. The
    sums of squared errors are added per cell, then in cell order."""
    g = n_groups
    sse = np.zeros(g * g, dtype=np.float64)
    for r in range(g):
        for a in prange(g):
            c = r * g + a
            lo, hi = starts[c], starts[c + 1]
            _shuffle_cell(
                lo, hi, block_size, seed, c, users, items, values, work_users, work_items,
                work_values,
            )
            sse[c] = _mf_steps(
                lo, hi, work_users, work_items, work_values, mu, bu, bi, p, q, lr, reg,
                reg_bias, biased, update_items,
            )
    total = 0.0
    for c in range(g * g):
        total += sse[c]
    return total


@njit(cache=True)
def by_user_order(users: np.ndarray, n_users: int) -> np.ndarray:
    """Row numbers sorted by user, rows of a user in their original order (a counting sort)."""
    start = bucket_starts(users, n_users)
    order = np.empty(users.shape[0], dtype=np.int64)
    for t in range(users.shape[0]):
        u = users[t]
        order[start[u]] = t
        start[u] += 1
    return order


@njit(cache=True)
def blocked_gather(
    block_size: int,
    block_order: np.ndarray,
    seed: int,
    users: np.ndarray,
    items: np.ndarray,
    values: np.ndarray,
    out_users: np.ndarray,
    out_items: np.ndarray,
    out_values: np.ndarray,
) -> None:
    """Copy the ratings into a blocked epoch order: the blocks of ``block_size`` consecutive
    ratings (of user-sorted ratings: a few users each) in ``block_order``, each block's
    ratings in a random order (Fisher-Yates from numba's generator seeded with ``seed``).
    The reads stay inside one block at a time, and so do the SGD loop's user rows."""
    np.random.seed(seed)
    n = users.shape[0]
    local = np.empty(block_size, dtype=np.int64)
    pos = 0
    for b in block_order:
        lo = b * block_size
        m = min(lo + block_size, n) - lo
        for k in range(m):
            local[k] = lo + k
        for k in range(m - 1, 0, -1):
            j = np.random.randint(0, k + 1)
            tmp = local[k]
            local[k] = local[j]
            local[j] = tmp
        for k in range(m):
            idx = local[k]
            out_users[pos] = users[idx]
            out_items[pos] = items[idx]
            out_values[pos] = values[idx]
            pos += 1


@njit(cache=True, fastmath=False)
def mf_predict(
    users: np.ndarray,
    items: np.ndarray,
    mu: np.float32,
    bu: np.ndarray,
    bi: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
) -> np.ndarray:
    """``mu + bu + bi + p_u . q_i`` for index pairs; an index outside the arrays is cold
    (zero bias, zero factors)."""
    acc = np.zeros(LANES, dtype=np.float32)
    out = np.empty(users.shape[0], dtype=np.float32)
    n_users = p.shape[0]
    n_items = q.shape[0]
    for t in range(users.shape[0]):
        u = users[t]
        i = items[t]
        known_u = 0 <= u < n_users
        known_i = 0 <= i < n_items
        s = mu
        if known_u:
            s += bu[u]
        if known_i:
            s += bi[i]
        if known_u and known_i:
            s += dot(p[u], q[i], acc)
        out[t] = s
    return out
