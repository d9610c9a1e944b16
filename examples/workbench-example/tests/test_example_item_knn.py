"""item-knn: the workbench's model contract plus checks against a plain-Python reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from workbench_example.knn import ItemKNN
from workbench_example.similarity import item_similarities

from workbench import Interactions, ParamError
from workbench.testing import ModelContract, holdout, low_rank_ratings


class TestItemKNNContract(ModelContract):
    seeded = False  # nothing random

    def make_model(self, **params: Any) -> ItemKNN:
        params.pop("seed", None)
        return ItemKNN(**params)


class TestItemKNNImplicitContract(ModelContract):
    seeded = False
    learns = False  # implicit scores are not ratings

    def make_model(self, **params: Any) -> ItemKNN:
        params.pop("seed", None)
        return ItemKNN(**params)

    def make_data(self) -> Interactions:
        return low_rank_ratings(kind="implicit")


def reference_predict(model: ItemKNN, user: int, item: int) -> float:
    """The documented formula, one pair at a time, straight from the fitted arrays."""
    explicit = model.feedback_ == "explicit"
    residuals = model.residuals_
    rated = dict(
        zip(
            residuals[user].indices.tolist(),
            residuals[user].data.tolist(),
            strict=True,
        )
    )
    sim = model.similarity_[item].toarray().ravel()
    neighbours = sorted(((sim[j], j) for j in rated if sim[j] > 0), key=lambda t: (-t[0], t[1]))[
        : model.params.k
    ]
    base = model.global_mean_ + model.user_bias_[user] + model.item_bias_[item]
    if not neighbours or len(neighbours) < model.params.min_k:
        return float(base)
    num = sum(s * rated[j] for s, j in neighbours)
    den = sum(s for s, _ in neighbours)
    return float(base + (num / den if explicit else num))


@pytest.mark.parametrize("kind", ["explicit", "implicit"])
@pytest.mark.parametrize(("k", "min_k"), [(40, 1), (3, 1), (5, 4)])
def test_predictions_match_the_reference_formula(kind: str, k: int, min_k: int) -> None:
    data = low_rank_ratings(seed=4, kind=kind)
    model = ItemKNN(k=k, min_k=min_k).fit(data)
    rng = np.random.default_rng(0)
    users = rng.integers(0, data.n_users, 300)
    items = rng.integers(0, data.n_items, 300)
    expected = [reference_predict(model, u, i) for u, i in zip(users, items, strict=True)]
    np.testing.assert_allclose(model.predict(users, items), expected, rtol=1e-5, atol=1e-5)
    block_items, block_scores = model.recommend(users[:20], k=data.n_items, exclude_seen=False)
    for row, u in enumerate(users[:20]):
        ref = [reference_predict(model, u, i) for i in block_items[row]]
        np.testing.assert_allclose(block_scores[row], ref, rtol=1e-5, atol=1e-5)


def test_cosine_matches_dense_cosine_of_item_columns() -> None:
    data = low_rank_ratings(seed=2)
    x = data.csr()
    sim = item_similarities(x, co_rated=False, shrinkage=0, min_similarity=0, n_neighbors=1000)
    dense = x.toarray().astype(np.float64)
    norms = np.linalg.norm(dense, axis=0)
    expected = (dense.T @ dense) / np.outer(norms, norms)
    np.fill_diagonal(expected, 0)
    np.testing.assert_allclose(sim.toarray(), expected, rtol=1e-5, atol=1e-6)


def test_pearson_baseline_uses_co_rating_users_and_shrinks() -> None:
    data = low_rank_ratings(seed=3)
    z = data.csr().astype(np.float64)
    z.data -= 3.0  # any residuals will do (some become 0: still rated)
    shrink = 10.0
    sim = item_similarities(z, co_rated=True, shrinkage=shrink, min_similarity=0, n_neighbors=999)
    dense = z.toarray()
    rated = data.csr().toarray() != 0
    for i, j in [(0, 1), (5, 7), (10, 30)]:
        both = rated[:, i] & rated[:, j]
        zi, zj = dense[both, i], dense[both, j]
        n = both.sum()
        value = zi @ zj / np.sqrt((zi @ zi) * (zj @ zj)) * (n - 1) / (n - 1 + shrink)
        assert sim[i, j] == pytest.approx(max(value, 0.0), rel=1e-5, abs=1e-7)


def test_neighbour_rows_are_sorted_and_capped() -> None:
    model = ItemKNN(max_neighbors=5).fit(low_rank_ratings())
    s = model.similarity_
    for i in range(s.shape[0]):
        row = s.data[s.indptr[i] : s.indptr[i + 1]]
        assert len(row) <= 5 and np.all(np.diff(row) <= 0) and np.all(row > 0)
        assert i not in s.indices[s.indptr[i] : s.indptr[i + 1]]


def test_similar_items_are_the_stored_neighbours() -> None:
    model = ItemKNN().fit(low_rank_ratings())
    items, scores = model.similar_items([3, 4], k=4)
    s = model.similarity_
    for row, item in enumerate([3, 4]):
        lo = s.indptr[item]
        np.testing.assert_array_equal(items[row], s.indices[lo : lo + 4])
        np.testing.assert_allclose(scores[row], s.data[lo : lo + 4])


def test_neighbours_improve_on_the_baseline_alone() -> None:
    train, test = holdout(low_rank_ratings(n_users=150, n_items=80, seed=5))
    knn = ItemKNN().fit(train)
    baseline = ItemKNN(min_k=10_000).fit(train)  # never enough neighbours: biases only

    def rmse(model: ItemKNN) -> float:
        pred = np.clip(model.predict(test.user, test.item), 1, 5)
        return float(np.sqrt(np.mean((pred - test.value) ** 2)))

    assert rmse(knn) < rmse(baseline) - 0.02


def test_rating_similarities_are_refused_on_implicit_data() -> None:
    data = low_rank_ratings(kind="implicit")
    with pytest.raises(ParamError, match="parameter 'similarity'.*'pearson-baseline'"):
        ItemKNN(similarity="pearson-baseline").fit(data)


@pytest.mark.parametrize("similarity", ["cosine", "adjusted-cosine", "pearson-baseline"])
def test_every_similarity_learns(similarity: str) -> None:
    train, test = holdout(low_rank_ratings(n_users=150, n_items=80, seed=6))
    pred = np.clip(ItemKNN(similarity=similarity).fit(train).predict(test.user, test.item), 1, 5)
    rmse = np.sqrt(np.mean((pred - test.value) ** 2))
    assert rmse < np.sqrt(np.mean((test.value - train.value.mean()) ** 2))


@pytest.mark.realdata
def test_movielens_100k_rmse_matches_knn_baseline(real_data_dir) -> None:
    """Surprise's KNNBaseline (item, pearson_baseline) reaches 0.9154 on a 5-fold split."""
    import pandas as pd

    frame = pd.read_csv(
        real_data_dir / "ml-100k" / "u.data", sep="\t", names=["user", "item", "rating", "t"]
    )
    data = Interactions.from_pandas(frame, rating_scale=(1, 5))
    fold = np.random.default_rng(0).permutation(len(data)) % 5
    train, test = data.subset(fold != 0), data.subset(fold == 0)
    pred = np.clip(ItemKNN().fit(train).predict(test.user, test.item), 1, 5)
    rmse = float(np.sqrt(np.mean((pred - test.value) ** 2)))
    assert 0.90 < rmse < 0.93


def test_parallel_pair_chunks_agree_with_blocks() -> None:
    """More pairs than one parallel chunk: every pair scored by `predict` equals the block."""
    from workbench_example._kernels import PAIR_CHUNK

    data = low_rank_ratings(n_users=120, n_items=70)
    model = ItemKNN(k=10).fit(data)
    users, items = np.divmod(np.arange(data.n_users * data.n_items), data.n_items)
    assert len(users) > 2 * PAIR_CHUNK
    pairs = model.predict(users, items).reshape(data.n_users, data.n_items)
    blocks = np.vstack(
        [s for _, _, s in model.iter_score_blocks(np.arange(data.n_users), exclude_seen=False)]
    )
    np.testing.assert_allclose(pairs, blocks, rtol=1e-6, atol=1e-6)
