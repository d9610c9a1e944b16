"""Beyond-accuracy metrics of all recommended top-k lists together.

``lists`` is the (users, K) matrix of every scored test user's top-K items (-1 = padding);
each metric reads the first k columns. Popularity is counted in the training data.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import Field

from workbench.data import Interactions
from workbench.errors import DataError
from workbench.metric import ListContext, ListMetric
from workbench.params import Params


class AtK(Params):
    k: int = Field(10, ge=1, description="length of the recommended lists")


def _valid(lists: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    top = np.asarray(lists, dtype=np.int64)[:, :k]
    return top, top >= 0


class Coverage(ListMetric):
    """Catalogue coverage at k: the share of all items recommended to at least one user.

    coverage@k = |union_u top-k(u)| / |I|, with I every item of the dataset's id space.
    """

    name = "coverage"
    Params = AtK

    def compute(self, lists: np.ndarray, context: ListContext) -> float:
        top, ok = _valid(lists, self.params.k)
        if context.n_items == 0:
            return float("nan")
        return float(len(np.unique(top[ok])) / context.n_items)


def _per_user_mean(values: np.ndarray, ok: np.ndarray) -> float:
    n = ok.sum(axis=1)
    users = n > 0
    if not users.any():
        return float("nan")
    sums = np.where(ok, values, 0.0).sum(axis=1)
    return float(np.mean(sums[users] / n[users]))


class Novelty(ListMetric):
    """Novelty at k: mean self-information of recommended items, in bits.

    novelty@k = mean_u (1/|L_u|) sum_{i in L_u} -log2(p_i), with p_i = max(n_i, 1) / |U|,
    n_i the number of training users who interacted with item i and |U| the number of users
    with training data (an item never seen in training counts as seen once).
    """

    name = "novelty"
    Params = AtK

    def compute(self, lists: np.ndarray, context: ListContext) -> float:
        top, ok = _valid(lists, self.params.k)
        n_users = max(context.n_train_users, 1)
        info = -np.log2(np.maximum(context.item_counts, 1) / n_users)
        return _per_user_mean(info[np.where(ok, top, 0)], ok)


class PopularityParams(AtK):
    normalize: bool = Field(
        False, description="divide by the number of training users (share of users)"
    )


class Popularity(ListMetric):
    """Popularity bias at k (average recommendation popularity, ARP): the mean training
    popularity of recommended items; lower means less popularity bias.

    popularity@k = mean_u (1/|L_u|) sum_{i in L_u} n_i, with n_i the number of training
    interactions of item i (divided by the number of training users with normalize=true).
    """

    name = "popularity"
    higher_is_better: ClassVar[bool] = False
    Params = PopularityParams

    def compute(self, lists: np.ndarray, context: ListContext) -> float:
        top, ok = _valid(lists, self.params.k)
        pop = np.asarray(context.item_counts, dtype=np.float64)
        if self.params.normalize:
            pop = pop / max(context.n_train_users, 1)
        return _per_user_mean(pop[np.where(ok, top, 0)], ok)


_SPLIT = re.compile(r"[|,;]")
_NO_GENRE = {"", "(no genres listed)", "unknown", "none"}


def _genre_tokens(value: Any) -> list[str]:
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        tokens = [str(v).strip() for v in value]
    elif value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    else:
        tokens = [t.strip() for t in _SPLIT.split(str(value))]
    return [t for t in tokens if t.lower() not in _NO_GENRE]


def genre_matrix(data: Interactions) -> sp.csr_matrix | None:
    """(items x genres) multi-hot matrix from ``item_metadata['genres']`` (None if absent).

    Genres may be strings separated by ``|``, ``,`` or ``;``, or lists of strings.
    """
    meta = data.item_metadata
    if meta is None or "genres" not in meta.columns:
        return None
    column = meta["genres"]
    if not column.index.is_unique:
        column = column[~column.index.duplicated()]
    lookup = pd.Series(column.to_numpy(), index=pd.Index(column.index.astype(str)))
    ids = pd.Index(np.asarray(data.items.ids).astype(str))
    aligned = lookup.reindex(ids)
    rows, names = [], []
    vocab: dict[str, int] = {}
    for r, value in enumerate(aligned.to_numpy()):
        for token in _genre_tokens(value):
            col = vocab.setdefault(token, len(vocab))
            rows.append(r)
            names.append(col)
    if not vocab:
        return None
    mat = sp.csr_matrix(
        (np.ones(len(rows)), (rows, names)), shape=(data.n_items, len(vocab)), dtype=np.float64
    )
    mat.data[:] = 1.0  # an item listing a genre twice still has it once
    return mat


def intra_list_diversity(lists: np.ndarray, features: Any) -> float:
    """Mean over users of the average pairwise cosine distance of their (valid) items.

    Items with an all-zero feature vector and padding are left out; users with fewer than two
    such items too. Uses sum_{i != j} v_i . v_j = |sum_i v_i|^2 - sum_i |v_i|^2 for unit
    vectors, so no pairwise matrix is built.
    """
    feats = sp.csr_matrix(features) if sp.issparse(features) else np.asarray(features, float)
    if sp.issparse(feats):
        norms = np.sqrt(np.asarray(feats.multiply(feats).sum(axis=1)).ravel())
    else:
        norms = np.linalg.norm(feats, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    unit = sp.diags(1.0 / safe) @ feats if sp.issparse(feats) else feats / safe[:, None]
    top = np.asarray(lists, dtype=np.int64)
    ok = (top >= 0) & (top < len(norms))
    ok &= np.where(ok, norms[np.where(ok, top, 0)] > 0, False)
    n = ok.sum(axis=1)
    rows = np.repeat(np.arange(len(top)), ok.sum(axis=1))
    pick = sp.csr_matrix(
        (np.ones(len(rows)), (rows, top[ok])), shape=(len(top), len(norms)), dtype=np.float64
    )
    summed = pick @ unit
    if sp.issparse(summed):
        sq = np.asarray(summed.multiply(summed).sum(axis=1)).ravel()
    else:
        sq = np.einsum("ij,ij->i", summed, summed)
    users = n >= 2
    if not users.any():
        return float("nan")
    mean_sim = (sq[users] - n[users]) / (n[users] * (n[users] - 1.0))
    return float(np.mean(1.0 - mean_sim))


class DiversityParams(AtK):
    source: Literal["auto", "genres", "embeddings"] = Field(
        "auto",
        description="item features: genres from the dataset's item metadata, the model's item "
        "vectors, or auto (genres when the data has them, else item vectors)",
    )


class Diversity(ListMetric):
    """Intra-list diversity at k: mean pairwise cosine distance within each list.

    ILD@k = mean_u (1 / (|L_u| (|L_u| - 1))) sum_{i != j in L_u} (1 - cos(f_i, f_j)), with f_i
    the item's features: its multi-hot genres (range 0..1) or the model's item vectors
    (range 0..2). NaN when neither is available (e.g. a baseline without item vectors on
    data without genres).
    """

    name = "diversity"
    Params = DiversityParams

    def check_data(self, data: Interactions) -> None:
        if self.params.source == "genres" and genre_matrix(data) is None:
            raise DataError(
                f"metric '{self.label}': dataset '{data.name}' has no item genres "
                "(item_metadata['genres']); use source=embeddings or source=auto"
            )

    def _features(self, context: ListContext) -> Any:
        source = self.params.source
        if source in ("auto", "genres") and context.train is not None:
            if "genres" not in context.cache:
                context.cache["genres"] = genre_matrix(context.train)
            if context.cache["genres"] is not None:
                return context.cache["genres"]
        if source in ("auto", "embeddings") and context.model is not None:
            return context.model.item_embeddings()
        return None

    def compute(self, lists: np.ndarray, context: ListContext) -> float:
        features = self._features(context)
        if features is None:
            return float("nan")
        return intra_list_diversity(np.asarray(lists)[:, : self.params.k], features)


class Personalisation(ListMetric):
    """Personalisation at k: how different the users' lists are from each other.

    personalisation@k = 1 - (1 / (n (n - 1))) sum_{u != v} |L_u ∩ L_v| / k over the n scored
    users, computed from how many lists contain each item (c_i):
    sum_{u != v} |L_u ∩ L_v| = sum_i c_i (c_i - 1). 0: everyone gets the same list.
    """

    name = "personalisation"
    Params = AtK

    def compute(self, lists: np.ndarray, context: ListContext) -> float:
        top, ok = _valid(lists, self.params.k)
        n = len(top)
        if n < 2:
            return float("nan")
        counts = np.bincount(top[ok], minlength=context.n_items).astype(np.float64)
        overlap = float((counts * (counts - 1.0)).sum())
        return 1.0 - overlap / (n * (n - 1.0) * self.params.k)
