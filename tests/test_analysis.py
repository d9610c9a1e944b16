"""Performance by user activity (workbench.analysis.activity)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from workbench_metrics.beyond import Coverage
from workbench_metrics.ranking import NDCG, Recall
from workbench_metrics.rating import RMSE

from workbench.analysis.activity import (
    DEFAULT_BINS,
    activity_buckets,
    activity_records,
    bucket_labels,
    plot_activity,
)
from workbench.errors import DataError
from workbench.evaluation import evaluate
from workbench.factor.embedding import FactorModel
from workbench.splits import Split
from workbench.testing import holdout, low_rank_ratings


def frame(n_train, recall, *, n_rated=None, sq=None, top=None, cold=None):
    n = len(n_train)
    out = pd.DataFrame(
        {
            "user": np.arange(n),
            "n_train": n_train,
            "n_test": np.full(n, 2),
            "cold_pairs": cold if cold is not None else np.zeros(n, int),
            "n_relevant": np.where(np.isnan(recall), 0, 1),
            "recall@2": recall,
        }
    )
    if n_rated is not None:
        out["n_rated"], out["sq_error"], out["abs_error"] = n_rated, sq, np.sqrt(sq)
    if top is not None:
        out["top"] = top
    return out


def test_bucket_labels():
    assert bucket_labels(DEFAULT_BINS) == [
        "0", "1-4", "5-9", "10-19", "20-49", "50-99", "100-199", "200-499", "500+",
    ]  # fmt: skip


def test_buckets_hand_computed():
    f = frame(
        [0, 3, 4, 12],
        np.array([np.nan, 0.5, 1.0, 0.0]),
        n_rated=[2, 2, 2, 2],
        sq=np.array([8.0, 2.0, 0.0, 2.0]),
        top=[np.array([0, 1]), np.array([1, 2]), np.array([2, -1]), np.array([3, 4])],
        cold=np.array([2, 0, 0, 0]),
    )
    t = activity_buckets(f, bins=(0, 1, 10), n_items=10).set_index("bucket")
    assert list(t.index) == ["0", "1-9", "10+"]
    assert t.loc["1-9", "users"] == 2 and t.loc["0", "ranked_users"] == 0
    assert math.isnan(t.loc["0", "recall@2"])  # no user with relevant items
    assert t.loc["1-9", "recall@2"] == pytest.approx(0.75)
    assert t.loc["1-9", "rmse"] == pytest.approx(math.sqrt(2.0 / 4))  # pooled over pairs
    assert t.loc["0", "fallback_share"] == 1.0 and t.loc["10+", "fallback_share"] == 0.0
    assert t.loc["1-9", "catalog_coverage"] == pytest.approx(2 / 10)  # items 1, 2
    assert t.loc["10+", "max_train"] is None or math.isnan(t.loc["10+", "max_train"])
    records = activity_records(t.reset_index())
    assert records[0]["recall@2"] is None  # NaN -> None (JSON-safe)


def test_folds_and_models_are_kept_apart():
    a = frame([1, 1], np.array([1.0, 0.0]))
    b = frame([1, 1], np.array([0.0, 0.0]))
    t = activity_buckets({"good": [a, a], "bad": [b]}, bins=(0, 5))
    assert t["model"].tolist() == ["good", "bad"]
    assert t["users"].tolist() == [2.0, 2.0]  # per fold
    assert t["recall@2"].tolist() == [0.5, 0.0]


def test_bad_bins_and_empty_input_are_errors():
    with pytest.raises(DataError, match="increasing"):
        activity_buckets(frame([1], np.array([1.0])), bins=(0, 5, 5))
    with pytest.raises(DataError, match="no per-user"):
        activity_buckets([])


class RandomMF(FactorModel):
    """Biased dot products with random parameters (test fixture)."""

    name = "random-mf-test"

    def _fit(self, train, *, callback, validation):
        rng = np.random.default_rng(0)
        self.global_mean_ = float(train.value.mean())
        self.user_factors_ = rng.normal(0, 0.3, (train.n_users, 3)).astype(np.float32)
        self.item_factors_ = rng.normal(0, 0.3, (train.n_items, 3)).astype(np.float32)
        self.user_bias_ = np.zeros(train.n_users, np.float32)
        self.item_bias_ = rng.normal(0, 0.3, train.n_items).astype(np.float32)


def test_from_a_real_evaluation_and_plot():
    data = low_rank_ratings(n_users=120, n_items=60)
    train, test = holdout(data, seed=1)
    split = Split(train, test)
    model = RandomMF().fit(train)
    ev = evaluate(model, split, [RMSE(), Recall(k=5), NDCG(k=5), Coverage(k=5)], per_user=True)
    table = activity_buckets(ev.per_user)  # n_items from the frame's attrs
    assert table["users"].sum() == ev.diagnostics["n_test_users"]
    assert {"recall@5", "ndcg@5", "rmse", "catalog_coverage"} <= set(table.columns)
    fig = plot_activity(table)
    assert len([ax for ax in fig.axes if ax.get_visible()]) >= 4
