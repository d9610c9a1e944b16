"""`spark-als` (Spark MLlib ALS) in a local Spark session: the model contract, ranking in Spark
against the core's top-k, fold-in against Spark's own last half-step, files without Spark.

One module-scoped session (``local[2]``, 2 shuffle partitions) keeps the Spark start-up to
once per module. Skipped, with the reason, only where pyspark or Java is missing.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp

from workbench.model import Model
from workbench.testing import ModelContract, low_rank_ratings

session_mod = pytest.importorskip(
    "workbench_spark.session", reason="the spark plugin is not installed"
)
if session_mod.java_executable() is None:
    pytest.skip("Spark needs a Java runtime (none on PATH or JAVA_HOME)", allow_module_level=True)
pytest.importorskip("pyspark", reason="pyspark is not installed (pip install '.[spark]')")

from workbench_spark.model import SparkALS  # noqa: E402

FAST = dict(n_iterations=5, n_user_blocks=2, n_item_blocks=2, rank_partitions=2)


@pytest.fixture(scope="module")
def spark():
    session = session_mod.get_session("local[2]", shuffle_partitions=2)
    session_mod.use_session(session)
    yield session
    session_mod.use_session(None)
    session.stop()


class _SharedFit:
    """One fit per class for the read-only contract tests (each Spark fit costs seconds)."""

    _cache: dict = {}

    @pytest.fixture(autouse=True)
    def _session(self, spark):
        self.spark = spark

    @pytest.fixture
    def fitted(self, data):
        key = (type(self).__name__, data.fingerprint())
        if key not in self._cache:
            self._cache[key] = self.make_model().fit(data)
        return self._cache[key]


class TestSparkALSExplicit(_SharedFit, ModelContract):
    def make_model(self, **params):
        return SparkALS(**{**FAST, "n_factors": 4, "reg": 0.05, **params})


class TestSparkALSImplicit(_SharedFit, ModelContract):
    def make_data(self):
        return low_rank_ratings(kind="implicit")

    def make_model(self, **params):
        return SparkALS(
            **{**FAST, "n_factors": 4, "implicit_prefs": True, "alpha": 2.0, **params},
        )


def test_declarations():
    explicit, implicit = SparkALS(), SparkALS(implicit_prefs=True)
    assert not explicit.can_fork() and not implicit.can_fork()
    # Spark's ALS has no biases: explicit scores are the training mean plus p.q (the scorer
    # adds the mean), never zero biases claimed as learned.
    assert explicit.predicts_ratings() and not explicit.has_biases()
    assert not implicit.predicts_ratings() and not implicit.has_biases()


def test_the_session_is_looked_up_never_kept_on_the_model(spark):
    import pickle

    from workbench.plugin_api import reset_warnings

    assert session_mod.session_for(None) is spark  # the fixture's use_session(spark)
    reset_warnings()
    with pytest.warns(DeprecationWarning, match=r"use workbench_spark\.use_session"):
        old_form = SparkALS(session=spark, n_factors=2)
    assert session_mod.session_for(None) is spark and old_form.spark() is spark
    for obj in (old_form, old_form.clone(), pickle.loads(pickle.dumps(old_form))):
        assert not [v for v in vars(obj).values() if type(v).__name__ == "SparkSession"]


@pytest.mark.parametrize("implicit", [False, True])
def test_fold_in_reproduces_sparks_last_user_step(spark, implicit):
    """Spark's last half-step solves the users with items fixed: folding in each training
    user's own history with the core's solvers gives Spark's user factors back (this checks
    the parameter mapping, including the regularisation scaled by the number of ratings)."""
    data = low_rank_ratings(kind="implicit" if implicit else "explicit", seed=3)
    model = SparkALS(
        **{**FAST, "n_factors": 5, "reg": 0.1, "alpha": 3.0},
        implicit_prefs=implicit,
    ).fit(data)
    folded = model.fold_in(data)
    rows = model.users_.index_of(folded.ids)
    np.testing.assert_allclose(folded.state["factors"], model.user_factors_[rows], atol=2e-3)


def test_nonnegative_fold_in_matches_spark(spark):
    data = low_rank_ratings(seed=4)
    model = SparkALS(**FAST, n_factors=4, nonnegative=True).fit(data)
    assert (model.item_factors_ >= 0).all() and (model.user_factors_ >= 0).all()
    folded = model.fold_in(data)
    rows = model.users_.index_of(folded.ids)
    np.testing.assert_allclose(folded.state["factors"], model.user_factors_[rows], atol=2e-3)


def test_rank_in_spark_equals_core_top_k_with_ties_order_and_candidates(spark):
    data = low_rank_ratings(seed=5)
    model = SparkALS(**FAST, n_factors=3).fit(data)
    model.item_factors_[7] = model.item_factors_[3]  # exact ties between items 3 and 7
    model.item_factors_[11] = model.item_factors_[3]
    users = np.arange(data.n_users)
    state = model._known_state(users)
    seen = model.seen_[users]
    rng = np.random.default_rng(0)
    for candidates, order in [
        (np.arange(data.n_items), None),
        (np.arange(data.n_items), rng.permutation(data.n_items)),
        (np.sort(rng.choice(data.n_items, 25, replace=False)), rng.permutation(25)),
    ]:
        got = model._rank(state, seen, candidates, 12, order)
        want = Model._rank(model, state, seen, candidates, 12, order)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(got[2], want[2])
    # nothing excluded: seen items come back
    got = model._rank(state, None, np.arange(data.n_items), 5, None)
    want = Model._rank(model, state, None, np.arange(data.n_items), 5, None)
    np.testing.assert_array_equal(got[0], want[0])


def test_arrow_and_parquet_handoffs_give_the_same_model(spark, tmp_path):
    data = low_rank_ratings(seed=6)
    a = SparkALS(**FAST, n_factors=3, handoff="arrow").fit(data)
    assert SparkALS()._handoff(spark) == "parquet"  # auto on a local master
    b = SparkALS(**FAST, n_factors=3, handoff="parquet", handoff_dir=str(tmp_path)).fit(data)
    np.testing.assert_allclose(a.user_factors_, b.user_factors_, atol=1e-5)
    assert not list(tmp_path.iterdir()), "the parquet hand-off file is removed after fit"


def test_saved_model_loads_predicts_and_ranks_without_spark(spark, tmp_path):
    data = low_rank_ratings(seed=8)
    model = SparkALS(**FAST, n_factors=3).fit(data)
    path = model.save(tmp_path / "spark.npz")
    items, _ = model.recommend(np.arange(6), k=4)
    preds = model.predict(np.arange(6), np.arange(6))
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["pyspark"] = None  # no Spark in this process
        import numpy as np
        from workbench_spark.model import SparkALS
        m = SparkALS.load({str(path)!r})
        print(m.predict(np.arange(6), np.arange(6)).tolist())
        print(m.recommend(np.arange(6), k=4)[0].tolist())
        print("pyspark" in sys.modules and sys.modules["pyspark"] is not None)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout.splitlines()
    np.testing.assert_allclose(np.array(eval(out[0])), preds, rtol=1e-6)
    np.testing.assert_array_equal(np.array(eval(out[1])), items)
    assert out[2] == "False"


def test_training_loss_is_sparks_objective(spark):
    data = low_rank_ratings(seed=9)
    model = SparkALS(**FAST, n_factors=3, center=False).fit(data)
    x, y = model.user_factors_.astype(float), model.item_factors_.astype(float)
    csr = data.csr()
    coo = csr.tocoo()
    err = coo.data - np.einsum("ij,ij->i", x[coo.row], y[coo.col])
    n_u, n_i = np.diff(csr.indptr), np.diff(sp.csc_matrix(csr).indptr)
    want = (err @ err + 0.1 * (n_u @ (x * x).sum(1) + n_i @ (y * y).sum(1))) / csr.nnz
    curve = []
    SparkALS(**FAST, n_factors=3, center=False).fit(data, callback=curve.append)
    assert len(curve) == 1 and curve[0].loss == pytest.approx(want, rel=1e-4)


def test_the_temporary_checkpoint_directory_goes_at_exit(tmp_path):
    """A local fit with checkpoints and no directory given gets a temporary one, which is
    gone once the process has exited."""
    code = textwrap.dedent(
        f"""
        import tempfile
        tempfile.tempdir = {str(tmp_path)!r}
        from workbench.testing import low_rank_ratings
        from workbench_spark.model import SparkALS
        from workbench_spark.session import get_session
        spark = get_session("local[1]", shuffle_partitions=1)
        SparkALS(n_iterations=3, checkpoint_interval=1, n_factors=2).fit(
            low_rank_ratings(n_users=20, n_items=15, seed=1))
        print(spark.sparkContext.getCheckpointDir())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=True
    ).stdout.splitlines()
    assert str(tmp_path) in out[-1], out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("workbench-spark-checkpoints")]
