"""Ranking metrics at k, vectorised over a batch of users (`workbench.metric.RankingBatch`).

Every metric returns one value per user; the evaluation averages them over users with at
least one relevant test item. A list shorter than k (fewer candidates than k, padded with
item -1) simply has misses at the padded ranks: the textbook definitions are kept
(precision@k always divides by k).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from workbench.metric import RankingBatch, RankingMetric
from workbench.params import Params
from workbench.ranking import auc_rows


class AtK(Params):
    k: int = Field(10, ge=1, description="length of the recommended list that is scored")


Denominator = Literal["k", "relevant", "min_k_relevant"]


def _divide(hits: np.ndarray, batch: RankingBatch, k: int, denominator: str) -> np.ndarray:
    """``hits`` divided by k, |rel(u)| or min(k, |rel(u)|) (docs/metrics.md, "Variants")."""
    if denominator == "k":
        return hits / k
    if denominator == "relevant":
        return hits / batch.n_relevant
    return hits / np.minimum(k, batch.n_relevant)


class PrecisionParams(AtK):
    denominator: Literal["k", "min_k_relevant"] = Field(
        "k",
        description="k: the textbook precision; min_k_relevant: hits / min(k, |rel(u)|), "
        "as implicit's ranking_metrics_at_k (1.0 reachable with fewer than k relevant items)",
    )


class RecallParams(AtK):
    denominator: Literal["relevant", "min_k_relevant"] = Field(
        "relevant",
        description="relevant: hits / |rel(u)|, the textbook recall; min_k_relevant: "
        "hits / min(k, |rel(u)|) (recall capped at k)",
    )


class MAPParams(AtK):
    denominator: Literal["min_k_relevant", "relevant", "hits"] = Field(
        "min_k_relevant",
        description="what AP@k divides by: min(k, |rel(u)|) (implicit, Spark), |rel(u)| "
        "(trec_eval map_cut, ranx, ir-measures) or the hits in the top k",
    )


def discounts(k: int) -> np.ndarray:
    """1 / log2(i + 1) for ranks i = 1..k."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


class Precision(RankingMetric):
    """Precision at k: the share of the top-k list that is relevant.

    precision@k = |top-k(u) ∩ rel(u)| / k, always divided by k (also when fewer than k
    items could be ranked). Averaged over users with at least one relevant test item.
    ``denominator=min_k_relevant``: divided by min(k, |rel(u)|) instead (implicit's variant).
    """

    name = "precision"
    Params = PrecisionParams

    def compute(self, batch: RankingBatch) -> np.ndarray:
        batch = batch.head(self.params.k)
        return _divide(batch.hits.sum(axis=1), batch, self.params.k, self.params.denominator)


class Recall(RankingMetric):
    """Recall at k: the share of the user's relevant items found in the top-k list.

    recall@k = |top-k(u) ∩ rel(u)| / |rel(u)| (the textbook definition; some libraries divide
    by min(k, |rel(u)|) instead, which makes 1.0 reachable when |rel(u)| > k: that variant is
    ``denominator=min_k_relevant``).
    """

    name = "recall"
    Params = RecallParams

    def compute(self, batch: RankingBatch) -> np.ndarray:
        batch = batch.head(self.params.k)
        return _divide(batch.hits.sum(axis=1), batch, self.params.k, self.params.denominator)


class NDCGParams(AtK):
    gain: Literal["binary", "graded", "linear"] = Field(
        "binary",
        description="binary: every relevant item gains 1; graded: gain 2^rating - 1 "
        "(Burges); linear: gain = rating (trec_eval, ranx, scikit-learn); implicit data: "
        "all three are binary",
    )


class NDCG(RankingMetric):
    """Normalised discounted cumulative gain at k.

    DCG@k = sum_{i=1..k} g_i / log2(i + 1), with g_i the gain of the item at rank i
    (binary: 1 if relevant, else 0; graded: 2^r - 1 with r its test rating, 0 if not
    relevant). nDCG@k = DCG@k / IDCG@k, where IDCG@k is the DCG of the ideal list: the user's
    min(k, |rel(u)|) relevant items sorted by gain.
    """

    name = "ndcg"
    Params = NDCGParams

    def compute(self, batch: RankingBatch) -> np.ndarray:
        batch = batch.head(self.params.k)
        k = batch.hits.shape[1]
        disc = discounts(k)
        if self.params.gain == "binary":
            gains = batch.hits.astype(np.float64)
            ideal = (np.arange(k)[None, :] < batch.n_relevant[:, None]).astype(np.float64)
        elif self.params.gain == "linear":
            gains = np.where(batch.hits, batch.grades, 0.0)
            ideal = batch.ideal
        else:
            gains = np.where(batch.hits, np.exp2(batch.grades) - 1.0, 0.0)
            ideal = np.where(batch.ideal > 0, np.exp2(batch.ideal) - 1.0, 0.0)
        dcg = gains @ disc
        idcg = ideal @ disc
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(idcg > 0, dcg / idcg, np.nan)


class MAP(RankingMetric):
    """Mean average precision at k.

    AP@k = (1 / min(k, |rel(u)|)) * sum_{i=1..k} precision@i * rel_i, with rel_i = 1 if the
    item at rank i is relevant. With k >= the number of candidates this is the average
    precision of the full ranking (scikit-learn's average_precision_score). ``denominator``:
    ``relevant`` divides by |rel(u)| (trec_eval's map_cut, ranx, ir-measures), ``hits`` by
    the hits in the top k (0 when there is none).
    """

    name = "map"
    Params = MAPParams

    def compute(self, batch: RankingBatch) -> np.ndarray:
        batch = batch.head(self.params.k)
        k = batch.hits.shape[1]
        hits = batch.hits.astype(np.float64)
        total = (np.cumsum(hits, axis=1) / np.arange(1, k + 1) * hits).sum(axis=1)
        if self.params.denominator == "hits":
            n_hits = hits.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(n_hits > 0, total / n_hits, 0.0)
        return _divide(total, batch, k, self.params.denominator)


class MRR(RankingMetric):
    """Mean reciprocal rank at k.

    RR@k = 1 / (rank of the first relevant item in the top-k list), or 0 if there is none.
    """

    name = "mrr"
    Params = AtK

    def compute(self, batch: RankingBatch) -> np.ndarray:
        batch = batch.head(self.params.k)
        first = np.argmax(batch.hits, axis=1)
        found = batch.hits.any(axis=1)
        return np.where(found, 1.0 / (first + 1.0), 0.0)


class HitRate(RankingMetric):
    """Hit rate at k: 1 if at least one relevant item is in the top-k list, else 0."""

    name = "hitrate"
    Params = AtK

    def compute(self, batch: RankingBatch) -> np.ndarray:
        batch = batch.head(self.params.k)
        return batch.hits.any(axis=1).astype(np.float64)


class AUC(RankingMetric):
    """Area under the ROC curve of each user's full ranking (no k).

    AUC(u) = (1 / (|rel(u)| * |neg(u)|)) * sum_{i in rel(u)} sum_{j in neg(u)}
    ([s_i > s_j] + 0.5 [s_i = s_j]), where neg(u) are the candidate items (unseen in train,
    or the sampled negatives) that are not relevant. Users with no non-relevant candidate are
    left out. Equals scikit-learn's roc_auc_score per user.
    """

    name = "auc"
    needs_scores: ClassVar[bool] = True

    def compute(self, batch: RankingBatch) -> np.ndarray:
        if batch.scores is None or batch.relevant is None:
            raise ValueError("auc needs the full score rows (RankingBatch.scores)")
        return auc_rows(batch.scores, batch.relevant)
