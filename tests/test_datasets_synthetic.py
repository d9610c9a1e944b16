"""The synthetic generator: seeded, exact sizes, no repeated pairs, MovieLens-like shape."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.experiments.loading import load_dataset


def keys(data) -> np.ndarray:
    return data.user.astype(np.int64) * data.n_items + data.item


@pytest.fixture(scope="module")
def default():
    return load_dataset("synthetic")


def test_default_size_is_like_movielens_100k(default):
    assert len(default) == 100_000
    assert default.n_users == 1000
    assert default.n_items <= 1700 and default.n_items > 1500
    assert default.kind == "explicit" and default.rating_scale == (1.0, 5.0)
    assert len(np.unique(keys(default))) == len(default)  # no repeated (user, item)


def test_same_seed_same_data_other_seed_other_data(default):
    again = load_dataset("synthetic", seed=42)
    assert again.fingerprint() == default.fingerprint()
    np.testing.assert_array_equal(again.value, default.value)
    np.testing.assert_array_equal(again.timestamp, default.timestamp)
    other = load_dataset("synthetic", seed=7)
    assert other.fingerprint() != default.fingerprint()
    assert len(other) == len(default)


def test_rating_histogram_is_realistic(default):
    values, counts = np.unique(default.value, return_counts=True)
    assert list(values) == [1, 2, 3, 4, 5]
    share = counts / counts.sum()
    assert share.min() > 0.02  # every star is used
    assert share[3] > share[0] and share[2] > share[0]  # 3s and 4s are common, 1s rare
    assert 3.3 < default.value.mean() < 3.7
    assert 0.9 < default.value.std() < 1.3


def test_popularity_and_activity_are_skewed(default):
    items = np.sort(default.item_counts())[::-1]
    top_tenth = items[: len(items) // 10].sum() / items.sum()
    assert top_tenth > 0.3  # a power law: the top 10% of items get far more than 10%
    users = default.user_counts()
    assert users.min() >= 10
    assert users.max() > 5 * np.median(users)


def test_half_star_scale():
    data = load_dataset("synthetic", n_interactions=20_000, n_users=300, scale="half-star")
    assert data.rating_scale == (0.5, 5.0)
    assert set(np.unique(data.value)) <= {x / 2 for x in range(1, 11)}
    assert (data.value % 1 == 0.5).mean() > 0.2
    assert 3.2 < data.value.mean() < 3.8


def test_implicit_counts():
    data = load_dataset("synthetic", kind="implicit", n_interactions=20_000, n_users=300)
    assert data.kind == "implicit" and data.rating_scale is None
    assert data.value.min() >= 1 and (data.value == np.round(data.value)).all()
    assert data.value.max() > 5 * np.median(data.value)  # heavy-tailed play counts


def test_timestamps_optional_and_in_range(default):
    first, last = default.timestamp.min(), default.timestamp.max()
    assert np.datetime64(int(first), "s") >= np.datetime64("2001-01-01")
    assert np.datetime64(int(last), "s") < np.datetime64("2004-01-02")
    data = load_dataset("synthetic", n_interactions=5000, n_users=100, timestamps=False)
    assert data.timestamp is None


@pytest.mark.parametrize(
    ("n_users", "n_items", "n_interactions"),
    [(10, 10, 100), (1, 50, 30), (3000, 2, 3000), (200, 40, 4000)],
)
def test_edge_sizes_are_exact(n_users, n_items, n_interactions):
    data = load_dataset(
        "synthetic", n_users=n_users, n_items=n_items, n_interactions=n_interactions, seed=3
    )
    assert len(data) == n_interactions
    assert data.n_users == n_users
    assert len(np.unique(keys(data))) == n_interactions


def test_batches_of_a_larger_set_have_no_duplicates():
    data = load_dataset("synthetic", n_users=10_000, n_items=4_000, n_interactions=1_200_000)
    assert len(data) == 1_200_000
    assert len(np.unique(keys(data))) == len(data)
    assert np.all(np.diff(data.user) >= 0)  # rows grouped by user


def _holdout(data, seed=0):
    rng = np.random.default_rng(seed)
    test = rng.random(len(data)) < 0.2
    return ~test, test


def _als(u, i, r, n_users, n_items, k=10, reg=10.0, iters=10, seed=0):
    """A small reference ALS on biased residuals (independent of the library's models)."""
    rng = np.random.default_rng(seed)
    P = rng.normal(0, 0.1, (n_users, k))
    Q = rng.normal(0, 0.1, (n_items, k))
    by_user = [np.flatnonzero(u == x) for x in range(n_users)]
    by_item = [np.flatnonzero(i == x) for x in range(n_items)]
    eye = reg * np.eye(k)
    for _ in range(iters):
        for x, rows in enumerate(by_user):
            if len(rows):
                A = Q[i[rows]]
                P[x] = np.linalg.solve(A.T @ A + eye, A.T @ r[rows])
        for x, rows in enumerate(by_item):
            if len(rows):
                A = P[u[rows]]
                Q[x] = np.linalg.solve(A.T @ A + eye, A.T @ r[rows])
    return P, Q


def test_matrix_factorisation_beats_biases(default):
    """The low-rank signal is learnable: a rank-10 model beats user+item biases on RMSE."""
    train, test = _holdout(default)
    u, i, r = default.user, default.item, default.value.astype(np.float64)
    mu = r[train].mean()
    bu = np.bincount(u[train], r[train] - mu, default.n_users) / (
        np.bincount(u[train], minlength=default.n_users) + 10
    )
    resid = r[train] - mu - bu[u[train]]
    bi = np.bincount(i[train], resid, default.n_items) / (
        np.bincount(i[train], minlength=default.n_items) + 10
    )
    base_pred = mu + bu[u] + bi[i]
    rmse_mean = np.sqrt(np.mean((r[test] - mu) ** 2))
    rmse_bias = np.sqrt(np.mean((r[test] - np.clip(base_pred[test], 1, 5)) ** 2))
    P, Q = _als(u[train], i[train], (r - base_pred)[train], default.n_users, default.n_items)
    mf_pred = np.clip(base_pred + np.einsum("ij,ij->i", P[u], Q[i]), 1, 5)
    rmse_mf = np.sqrt(np.mean((r[test] - mf_pred[test]) ** 2))
    assert rmse_bias < rmse_mean
    assert rmse_mf < rmse_bias - 0.03


def test_choices_carry_taste_for_ranking(default):
    """Which items a user rated is predictable beyond popularity (a binary SVD beats it)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import svds

    train, test = _holdout(default, seed=1)
    seen = sp.csr_matrix(
        (np.ones(int(train.sum())), (default.user[train], default.item[train])),
        shape=(default.n_users, default.n_items),
    )
    popularity = np.asarray(seen.sum(axis=0)).ravel().astype(np.float64)
    U, s, Vt = svds(seen.astype(np.float64), k=20, random_state=0)
    relevant: dict[int, set[int]] = {}
    for u, i in zip(default.user[test], default.item[test], strict=True):
        relevant.setdefault(int(u), set()).add(int(i))

    def precision(score) -> float:
        hits = 0
        for u, items in relevant.items():
            scores = score(u)
            scores[seen[u].indices] = -np.inf
            hits += len(items & set(np.argpartition(-scores, 10)[:10].tolist()))
        return hits / (10 * len(relevant))

    p_pop = precision(lambda u: popularity.copy())
    p_svd = precision(lambda u: (U[u] * s) @ Vt)
    assert p_svd > 1.2 * p_pop
