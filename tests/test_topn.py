"""Top-N baselines (plugin `topn`): ease, itemknn, userknn, slim, bpr, random.

The contract suite for each model, and known answers: EASE against a ten-line numpy EASE,
item-kNN against a direct computation and `implicit`'s similarity matrices, user-kNN against
a direct computation, SLIM against scikit-learn's ElasticNet on one column, one BPR step
against a hand computation, seeded bit-identical BPR, EASE's memory refusal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from workbench_topn.bpr import BPR
from workbench_topn.ease import EASE, ease_weights, gram_matrix
from workbench_topn.knn import ItemKNNTopN, UserKNN
from workbench_topn.random_model import RandomRanking
from workbench_topn.slim import SLIM

from workbench.data import Interactions
from workbench.errors import DataError, ParamError
from workbench.testing import ModelContract, low_rank_ratings


def _no_seed(params: dict[str, Any]) -> dict[str, Any]:
    params.pop("seed", None)
    return params


class TestEASEContract(ModelContract):
    seeded = False

    def make_model(self, **params: Any) -> EASE:
        return EASE(reg=50.0, **_no_seed(params))


class TestEASEImplicitContract(TestEASEContract):
    def make_data(self) -> Interactions:
        return low_rank_ratings(kind="implicit")

    def make_model(self, **params: Any) -> EASE:
        return EASE(reg=50.0, binary=False, **_no_seed(params))


class TestItemKNNContract(ModelContract):
    seeded = False

    def make_model(self, **params: Any) -> ItemKNNTopN:
        return ItemKNNTopN(k=20, shrinkage=2.0, **_no_seed(params))


class TestItemKNNBM25Contract(TestItemKNNContract):
    def make_model(self, **params: Any) -> ItemKNNTopN:
        return ItemKNNTopN(k=20, similarity="bm25", **_no_seed(params))


class TestUserKNNContract(ModelContract):
    seeded = False

    def make_model(self, **params: Any) -> UserKNN:
        return UserKNN(k=15, similarity="tfidf", **_no_seed(params))


class TestSLIMContract(ModelContract):
    seeded = False

    def make_model(self, **params: Any) -> SLIM:
        return SLIM(l1=0.1, l2=1.0, **_no_seed(params))


class TestBPRContract(ModelContract):
    def make_model(self, **params: Any) -> BPR:
        params.setdefault("seed", 0)
        return BPR(n_factors=8, n_epochs=5, **params)


class TestRandomContract(ModelContract):
    learns = False

    def make_model(self, **params: Any) -> RandomRanking:
        return RandomRanking(**params)
