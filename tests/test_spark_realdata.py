"""`spark-als` next to the built-in `als` (and an independent numpy ALS) on MovieLens-100k.

The same folds (the first two anchor folds) and the same objective: explicit ALS with Spark's
count-scaled regularisation and no biases (``spark-als center=false`` and ``als biased=false``
solve the same problem; only the random start differs), so the mean RMSE must agree within
noise. The reference below alternates the core's `ridge_fold_in` (users, then items) and is
always run; the `als` comparison runs once the built-in `als` is registered.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import workbench as wb
from workbench.errors import UnknownNameError
from workbench.factor.embedding import RatingFactorModel
from workbench.factor.fold_in import ridge_fold_in
from workbench.params import Params

pytestmark = pytest.mark.realdata

session_mod = pytest.importorskip(
    "workbench_spark.session", reason="the spark plugin is not installed"
)
if not session_mod.spark_available():
    pytest.skip("Spark needs pyspark and a Java runtime", allow_module_level=True)

SETTINGS = {"n_factors": 10, "reg": 0.1, "n_iterations": 10}
SPARK = "spark-als center=false n_user_blocks=2 n_item_blocks=2 " + " ".join(
    f"{k}={v}" for k, v in SETTINGS.items()
)
#: RMSE gap accepted between two ALS runs of the same objective (the fold-to-fold standard
#: deviation of RMSE on ML-100k is about 0.005).
NOISE = 0.01


class ReferenceALS(RatingFactorModel):
    """Explicit weighted-lambda ALS without biases, by alternating `ridge_fold_in`."""

    name = "reference-als"

    class Params(Params):
        n_factors: int = 10
        reg: float = 0.1
        n_iterations: int = 10
        seed: int = 0

    def has_biases(self) -> bool:
        return False

    def _fit(self, train, *, callback, validation):
        p = self.params
        csr = train.csr()
        by_item = sp.csr_matrix(csr.T)
        rng = np.random.default_rng(p.seed)
        items = rng.normal(0, 1, (train.n_items, p.n_factors))  # unit rows, as Spark starts
        items = (items / np.linalg.norm(items, axis=1, keepdims=True)).astype(np.float32)
        for _ in range(p.n_iterations):
            users, _ = ridge_fold_in(csr, items, reg=p.reg, with_bias=False)
            items, _ = ridge_fold_in(by_item, users, reg=p.reg, with_bias=False)
        users, _ = ridge_fold_in(csr, items, reg=p.reg, with_bias=False)
        self.user_factors_, self.item_factors_ = users, items


@pytest.fixture(scope="module")
def splits(real_data_dir):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.anchor_folds import anchor_splits

    return anchor_splits()[:2]


def _mean(results, label, metric="rmse"):
    frame = results.scores
    rows = frame[(frame["model"] == label) & (frame["metric"] == metric)]
    assert len(rows) == 2, f"{label}: {rows}"
    return float(rows["value"].mean())


def test_spark_als_agrees_with_an_independent_als(splits):
    results = wb.compare(
        splits[0].train,  # the data of given splits only names the run
        splits,
        [SPARK, ("reference-als", ReferenceALS(**SETTINGS))],
        ["rmse", "ndcg@10"],
    )
    spark, ref = _mean(results, "spark-als"), _mean(results, "reference-als")
    assert 0.85 < spark < 1.05, spark
    assert abs(spark - ref) < NOISE, (spark, ref)


def test_spark_als_next_to_the_builtin_als(splits):
    from workbench.plugins import get_registry

    try:
        get_registry().get("model", "als")
    except UnknownNameError:
        pytest.skip("the built-in 'als' is not registered yet (plugin workbench_als)")
    # Spark's ALS scales regParam by each row's count (weighted lambda): the same penalty
    als = "als biased=false reg_exponent=1 reg_offset=0 " + " ".join(
        f"{k}={v}" for k, v in SETTINGS.items()
    )
    results = wb.compare(splits[0].train, splits, [SPARK, als], ["rmse", "ndcg@10"])
    spark, builtin = _mean(results, "spark-als"), _mean(results, "als")
    assert abs(spark - builtin) < NOISE, (spark, builtin)
    # nDCG@10 of rating models over every unseen item depends on the local optimum reached
    # from each random start (0.043 vs 0.062 measured here): recorded, not compared.
    assert _mean(results, "spark-als", "ndcg@10") > 0
