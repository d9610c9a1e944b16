"""Built-in plugin: the top-N baselines that keep MF comparisons honest (Dacrema et al. 2019;
Steck 2019; Rendle et al. 2020).

- ``ease`` (alias ``ease-r``): EASE, the closed-form item-item model (Steck 2019).
- ``itemknn`` (alias ``item-cosine``): item-based k nearest neighbours with
  cosine, TF-IDF or BM25 weighting, as `implicit`'s ``CosineRecommender``/``BM25Recommender``.
- ``userknn`` (alias ``user-cosine``): user-based k nearest neighbours, the same weightings.
- ``slim``: SLIM, an ElasticNet per item (scikit-learn), non-negative weights.
- ``bpr`` (alias ``bpr-mf``): BPR matrix factorisation with item biases on numba (Rendle et
  al. 2009), seeded and bit-identical.
- ``random`` (alias ``random-baseline``): a seeded random ranking.

The example plugin's ``item-knn`` (KNNBaseline-style, ratings) stays a third-party example;
``itemknn`` is this package's top-N neighbourhood model. Model modules are imported inside
the hook, so listing plugins stays fast.
"""

from __future__ import annotations

from workbench import hookimpl


@hookimpl
def register_models(register):
    from workbench_topn.bpr import BPR
    from workbench_topn.ease import EASE
    from workbench_topn.knn import ItemKNNTopN, UserKNN
    from workbench_topn.random_model import RandomRanking
    from workbench_topn.slim import SLIM

    register(EASE, aliases=["ease-r"])
    register(ItemKNNTopN, aliases=["item-cosine"])
    register(UserKNN, aliases=["user-cosine"])
    register(SLIM)
    register(BPR, aliases=["bpr-mf"])
    register(RandomRanking, aliases=["random-baseline"])
