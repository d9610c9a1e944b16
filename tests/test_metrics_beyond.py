"""Beyond-accuracy metrics: coverage, novelty, popularity, diversity, personalisation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics.pairwise import cosine_distances
from workbench_metrics.beyond import (
    Coverage,
    Diversity,
    Novelty,
    Personalisation,
    Popularity,
    genre_matrix,
    intra_list_diversity,
)

from workbench.data import Interactions
from workbench.errors import DataError
from workbench.evaluation import check_metrics_fit
from workbench.metric import ListContext

# three users' top-2 lists over a catalogue of 4 items; item 3 is never recommended
LISTS = np.array([[0, 1], [0, 2], [0, 1]])
CTX = ListContext(n_items=4, item_counts=np.array([3, 2, 1, 0]), n_train_users=4)


def test_coverage():
    assert Coverage(k=2).compute(LISTS, CTX) == pytest.approx(3 / 4)
    assert Coverage(k=1).compute(LISTS, CTX) == pytest.approx(1 / 4)


def test_novelty_is_mean_self_information():
    info = {0: -math.log2(3 / 4), 1: -math.log2(2 / 4), 2: -math.log2(1 / 4)}
    per_user = [(info[0] + info[1]) / 2, (info[0] + info[2]) / 2, (info[0] + info[1]) / 2]
    assert Novelty(k=2).compute(LISTS, CTX) == pytest.approx(np.mean(per_user))


def test_novelty_counts_an_item_unseen_in_train_as_seen_once():
    assert Novelty(k=1).compute(np.array([[3]]), CTX) == pytest.approx(-math.log2(1 / 4))


def test_popularity_bias_is_mean_training_popularity():
    assert Popularity(k=2).compute(LISTS, CTX) == pytest.approx((2.5 + 2 + 2.5) / 3)
    assert Popularity(k=2, normalize=True).compute(LISTS, CTX) == pytest.approx(7 / 3 / 4)
    assert not Popularity.higher_is_better


def test_personalisation_from_pairwise_overlaps():
    # ordered pairs: (1,2) share 1 item, (1,3) share 2, (2,3) share 1 -> mean overlap/k = 2/3
    assert Personalisation(k=2).compute(LISTS, CTX) == pytest.approx(1 - 8 / 12)
    assert math.isnan(Personalisation(k=2).compute(LISTS[:1], CTX))


def test_padding_is_ignored_by_list_metrics():
    padded = np.array([[0, -1], [1, -1]])
    assert Coverage(k=2).compute(padded, CTX) == pytest.approx(2 / 4)
    assert Popularity(k=2).compute(padded, CTX) == pytest.approx((3 + 2) / 2)


def test_intra_list_diversity_hand_computed():
    features = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    expected = np.mean([1.0, 1 - 1 / math.sqrt(2), 1.0])
    assert intra_list_diversity(LISTS, features) == pytest.approx(expected)
    # an item without features (all zeros) is left out: the user has one pair left
    assert intra_list_diversity(np.array([[0, 1, 3]]), features) == pytest.approx(1.0)


def test_intra_list_diversity_matches_pairwise_cosine_distances():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(30, 5))
    lists = np.array([rng.permutation(30)[:6] for _ in range(20)])
    ref = []
    for row in lists:
        d = cosine_distances(features[row])
        ref.append(d[~np.eye(len(row), dtype=bool)].mean())
    assert intra_list_diversity(lists, features) == pytest.approx(np.mean(ref))
    sparse_multi_hot = (rng.random((30, 4)) < 0.5).astype(float)
    sparse_multi_hot[:, 0] = 1.0
    ref = [cosine_distances(sparse_multi_hot[row])[~np.eye(6, dtype=bool)].mean() for row in lists]
    import scipy.sparse as sp

    ours = intra_list_diversity(lists, sp.csr_matrix(sparse_multi_hot))
    assert ours == pytest.approx(np.mean(ref))


def with_genres(genres: dict) -> Interactions:
    meta = pd.DataFrame({"title": [f"t{i}" for i in genres], "genres": list(genres.values())})
    meta.index = list(genres)
    return Interactions.from_arrays(
        [1, 1, 2, 2], [10, 20, 20, 30], [5, 4, 3, 2], rating_scale=(1, 5), item_metadata=meta
    )


def test_genre_matrix_parses_pipes_lists_and_no_genres():
    data = with_genres({10: "Action|Comedy", 20: ["Comedy"], 30: "(no genres listed)"})
    mat = genre_matrix(data).toarray()
    assert mat.shape == (3, 2)
    assert mat.sum(axis=1).tolist() == [2, 1, 0]


def test_diversity_from_genres_and_from_model_vectors():
    data = with_genres({10: "Action", 20: "Action|Comedy", 30: "Drama"})
    ctx = ListContext(n_items=3, item_counts=np.ones(3), n_train_users=2, train=data)
    # items 0 and 1 share Action: distance 1 - 1/sqrt(2); items 0 and 2 nothing: distance 1
    lists = np.array([[0, 1], [0, 2]])
    expected = np.mean([1 - 1 / math.sqrt(2), 1.0])
    assert Diversity(k=2).compute(lists, ctx) == pytest.approx(expected)

    class Vectors:
        def item_embeddings(self):
            return np.array([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])

    ctx = ListContext(n_items=3, item_counts=np.ones(3), n_train_users=2, model=Vectors())
    assert Diversity(k=2).compute(lists, ctx) == pytest.approx(np.mean([0.0, 2.0]))
    ctx_none = ListContext(n_items=3, item_counts=np.ones(3), n_train_users=2)
    assert math.isnan(Diversity(k=2).compute(lists, ctx_none))


def test_diversity_from_genres_needs_genres_before_training():
    plain = Interactions.from_arrays([1, 2], [10, 20], [5, 4], rating_scale=(1, 5))
    with pytest.raises(DataError, match="no item genres"):
        check_metrics_fit([Diversity(source="genres")], plain)
    check_metrics_fit([Diversity()], plain)  # auto falls back to the model's vectors
