"""`spark-als`: Spark MLlib's ALS (`pyspark.ml.recommendation.ALS`) under the model contract.

Training runs in Spark; the factors are then collected as arrays, so `predict`, fold-in,
`save` and `load` need no Spark (a saved model loads where pyspark is not installed). Top-N
ranking (`recommend`, the evaluation) runs in Spark through the `_rank` hook, seen items
excluded (see `workbench_spark.ranking`); where pyspark or Java is missing, a loaded model
ranks with the core's numpy top-k instead (same lists).

Parameter mapping (Spark name -> workbench name; Spark's defaults are kept):
rank -> n_factors, maxIter -> n_iterations, regParam -> reg, implicitPrefs -> implicit_prefs,
alpha -> alpha, nonnegative -> nonnegative, numUserBlocks -> n_user_blocks, numItemBlocks ->
n_item_blocks, blockSize -> block_size, checkpointInterval -> checkpoint_interval,
intermediateStorageLevel -> intermediate_storage_level, finalStorageLevel ->
final_storage_level, seed -> seed. coldStartStrategy is not mapped: the workbench's own cold
start applies (zero factors). userCol/itemCol/ratingCol/predictionCol are internal.

Regularisation: Spark scales ``regParam`` by the number of ratings of each user (item) in
every half-step, explicit and implicit ("ALS-WR", Zhou et al. 2008). The built-in ``als``
scales its ``reg`` the same way, so ``spark-als reg=x`` and ``als reg=x biased=false`` solve
the same problem; the built-in ``ials`` does not scale, so ``ials reg=x`` corresponds to a
per-user ``reg`` of ``x / n_u`` here.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from workbench.capabilities import Capabilities, ColdStart
from workbench.data import Interactions
from workbench.errors import ParamError
from workbench.factor.embedding import EmbeddingModel
from workbench.factor.fold_in import (
    confidence,
    confidence_fold_in,
    nonnegative_solve,
    ridge_fold_in,
)
from workbench.factor.scoring import DotScorer
from workbench.model import EpochInfo, TrainingCallback
from workbench.params import Params
from workbench.plugin_api import deprecated
from workbench.user_state import UserState
from workbench_spark.session import session_for, spark_available, use_session

StorageLevel = Literal[
    "MEMORY_AND_DISK", "MEMORY_AND_DISK_SER", "MEMORY_ONLY", "MEMORY_ONLY_SER", "DISK_ONLY"
]


class SparkALSParams(Params):
    """Spark's ALS parameters (Spark's defaults) plus where and how to run it."""

    n_factors: int = Field(10, ge=1, description="rank: latent factors per user and item")
    n_iterations: int = Field(10, ge=1, description="maxIter: ALS iterations")
    reg: float = Field(
        0.1,
        ge=0,
        description="regParam: L2 regularisation, scaled by each user's (item's) number of "
        "ratings in every half-step (as the built-in als; ials does not scale)",
    )
    implicit_prefs: bool = Field(
        False,
        description="implicitPrefs: implicit feedback (Hu-Koren-Volinsky: preference 1, "
        "confidence 1 + alpha |r|); the model then ranks and predicts no ratings",
    )
    alpha: float = Field(1.0, ge=0, description="alpha: confidence slope (implicit only)")
    nonnegative: bool = Field(False, description="nonnegative: non-negative factors (NNLS)")
    center: bool = Field(
        True,
        description="explicit only (workbench): fit ratings minus the training mean and add "
        "it back, so cold users/items get the mean rating (Spark's ALS has no biases)",
    )
    n_user_blocks: int = Field(10, ge=1, description="numUserBlocks: user partitions")
    n_item_blocks: int = Field(10, ge=1, description="numItemBlocks: item partitions")
    block_size: int = Field(4096, ge=1, description="blockSize: rows per stacked block")
    checkpoint_interval: int = Field(
        10,
        description="checkpointInterval: checkpoint every n iterations (-1: never), which "
        "keeps long runs from a StackOverflowError; needs a checkpoint directory",
    )
    checkpoint_dir: str | None = Field(
        None,
        description="checkpoint directory when the session has none (None: a temporary "
        "directory on a local master, removed at exit; on a cluster give a shared one, e.g. "
        "hdfs://...)",
    )
    intermediate_storage_level: StorageLevel = Field(
        "MEMORY_AND_DISK", description="intermediateStorageLevel"
    )
    final_storage_level: StorageLevel = Field("MEMORY_AND_DISK", description="finalStorageLevel")
    master: str | None = Field(
        None,
        description="Spark master URL (e.g. local[4], spark://host:7077); None: the active "
        "session, else local[*]",
    )
    shuffle_partitions: int | None = Field(
        None, ge=1, description="spark.sql.shuffle.partitions of a session created here"
    )
    handoff: Literal["auto", "arrow", "parquet"] = Field(
        "auto",
        description="how the data reaches Spark: arrow (in memory, any master), parquet (a "
        "temporary file, 2-3x faster at 10M locally; on a cluster handoff_dir must be on a "
        "shared file system) or auto (parquet on a local master or with handoff_dir, else "
        "arrow)",
    )
    handoff_dir: str | None = Field(
        None, description="directory of the parquet hand-off (None: the temporary directory)"
    )
    rank_partitions: int = Field(
        4, ge=1, description="Spark partitions of one block of users being ranked"
    )
    seed: int = Field(0, ge=0, description="seed: random seed of the initial factors")


class SparkALS(EmbeddingModel):
    """Spark MLlib ALS (explicit, or implicit with implicit_prefs): trains in a Spark session,
    ranks top-N in Spark with seen items excluded; fold-in, save and load without Spark."""

    name = "spark-als"
    Params = SparkALSParams
    capabilities = Capabilities(
        cold_start=ColdStart(
            user="zero factors: the training mean (explicit, center=true), else score 0",
            item="zero factors: the training mean (explicit, center=true), else score 0",
        ),
        fold_in="ridge",
        update_users=True,
        #: A Spark session lives in the process that created it: never in a forked worker.
        fork_safe=False,
        service="a Spark session",
        similar_items=True,
    )
    #: ``p·q + global_mean_``: the training mean of centred explicit ratings (0 when
    #: implicit or ``center=false``); Spark's ALS has no biases.
    scorer = DotScorer(centered=True)

    def __init__(self, *, session: Any = None, **params: Any) -> None:
        super().__init__(**params)
        if session is not None:  # the v2 form: the session is looked up, never kept here
            deprecated(
                self.owner(), "SparkALS(session=...)", "workbench_spark.use_session(session)"
            )
            use_session(session)

    # -- what the model declares -----------------------------------------------------------
    @classmethod
    def capabilities_for(cls, params: Any) -> Capabilities:
        # Explicit: ratings, scores ``global_mean_ + p.q``; implicit: ranking scores p.q.
        explicit = not params.implicit_prefs
        return cls.capabilities.replace(
            predicts="ratings" if explicit else "scores",
            fold_in="nonnegative" if params.nonnegative else "ridge" if explicit else "confidence",
        )

    def spark(self) -> Any:
        """The SparkSession this model trains and ranks in, looked up on each use
        (`workbench_spark.session.session_for`: started on first use)."""
        p = self.params
        return session_for(p.master, shuffle_partitions=p.shuffle_partitions)

    # -- training ----------------------------------------------------------------------------
    def _estimator(self) -> Any:
        from pyspark.ml.recommendation import ALS

        p = self.params
        return ALS(
            rank=p.n_factors,
            maxIter=p.n_iterations,
            regParam=p.reg,
            implicitPrefs=p.implicit_prefs,
            alpha=p.alpha,
            nonnegative=p.nonnegative,
            numUserBlocks=p.n_user_blocks,
            numItemBlocks=p.n_item_blocks,
            blockSize=p.block_size,
            checkpointInterval=p.checkpoint_interval,
            intermediateStorageLevel=p.intermediate_storage_level,
            finalStorageLevel=p.final_storage_level,
            seed=p.seed,
            userCol="user",
            itemCol="item",
            ratingCol="rating",
            coldStartStrategy="nan",
        )

    def _fit(self, train: Interactions, *, callback: TrainingCallback, validation: Any) -> None:
        from workbench_spark.handoff import to_spark

        p = self.params
        started = time.perf_counter()
        mu = float(train.value.mean()) if (not p.implicit_prefs and p.center) else 0.0
        values = train.value - np.float32(mu) if mu else train.value
        spark = self.spark()
        self._ensure_checkpoint_dir(spark)
        frame, path = to_spark(
            spark,
            train.user,
            train.item,
            values,
            how=self._handoff(spark),
            directory=p.handoff_dir,
        )
        try:
            fitted = self._estimator().fit(frame)
            users = _factors(fitted.userFactors, train.n_users, p.n_factors)
            items = _factors(fitted.itemFactors, train.n_items, p.n_factors)
        finally:
            if path is not None:
                path.unlink(missing_ok=True)
        self.user_factors_, self.item_factors_ = users, items
        self.global_mean_ = mu
        loss = self._training_loss(train.csr(), mu)
        self.check_loss(loss, p.n_iterations, "try a larger reg")
        seconds = time.perf_counter() - started
        callback(EpochInfo(p.n_iterations, p.n_iterations, loss, seconds=seconds))

    def _handoff(self, spark: Any) -> str:
        p = self.params
        if p.handoff != "auto":
            return p.handoff
        local = spark.sparkContext.master.startswith("local")
        return "parquet" if local or p.handoff_dir is not None else "arrow"

    def _ensure_checkpoint_dir(self, spark: Any) -> None:
        """A checkpoint directory for Spark's ALS when the session has none: the given one,
        or on a local master a temporary one, removed when this process exits (a session
        started here also deletes the checkpoints of finished fits as it goes)."""
        import atexit
        import shutil
        import tempfile

        p = self.params
        context = spark.sparkContext
        if p.checkpoint_interval < 1 or context.getCheckpointDir() is not None:
            return
        if p.checkpoint_dir is not None:
            context.setCheckpointDir(p.checkpoint_dir)
        elif context.master.startswith("local"):
            folder = tempfile.mkdtemp(prefix="workbench-spark-checkpoints-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            context.setCheckpointDir(folder)

    def _training_loss(self, csr: sp.csr_matrix, mu: float) -> float:
        """Spark's objective at the learned factors (Spark reports none per iteration)."""
        p = self.params
        x = self.user_factors_.astype(np.float64)
        y = self.item_factors_.astype(np.float64)
        coo = csr.tocoo()
        dots = np.einsum("ij,ij->i", x[coo.row], y[coo.col])
        n_u = np.diff(csr.indptr)
        n_i = np.bincount(coo.col, minlength=y.shape[0])
        penalty = p.reg * (n_u @ (x * x).sum(1) + n_i @ (y * y).sum(1))
        if not p.implicit_prefs:
            return float(((coo.data - mu - dots) ** 2).sum() + penalty) / max(csr.nnz, 1)
        # sum over every pair of s^2, corrected on the observed pairs: c (1 - s)^2 - s^2
        every = float(np.sum((x.T @ x) * (y.T @ y)))
        c = 1.0 + p.alpha * np.abs(coo.data)
        pref = (coo.data > 0).astype(np.float64)
        observed = float((c * (pref - dots) ** 2 - dots**2).sum())
        return (every + observed + penalty) / max(csr.nnz, 1)

    # -- ranking in Spark ------------------------------------------------------------------------
    def _rank(
        self,
        state: UserState,
        seen: sp.csr_matrix | None,
        candidates: np.ndarray,
        k: int,
        order: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from workbench_spark.ranking import rank_in_spark

        if not spark_available():
            # A model file loaded where Spark is missing still ranks (numpy, same order).
            return super()._rank(state, seen, candidates, k, order)
        factors = state["factors"]
        offset = np.full(len(state), np.float32(self.global_mean_), dtype=np.float32)
        return rank_in_spark(
            self.spark(),
            factors,
            offset,
            self.item_factors_,
            seen,
            candidates,
            k,
            order,
            self.n_items_,
            partitions=self.params.rank_partitions,
        )

    # -- fold-in (no Spark: the same half-step Spark solves, items frozen) ---------------------
    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        p = self.params
        y = self.item_factors_
        if p.nonnegative:
            factors = _nonnegative_fold_in(history, y, p, self.global_mean_)
        elif not p.implicit_prefs:
            factors, _ = ridge_fold_in(
                history, y, reg=p.reg, global_mean=self.global_mean_, with_bias=False
            )
        else:
            factors = _implicit_fold_in(history, y, p.reg, p.alpha)
        return UserState.of(factors=factors)

    def _set_state_arrays(self, arrays: Any) -> None:
        super()._set_state_arrays(arrays)
        if self.item_factors_.shape[1] != self.params.n_factors:
            raise ParamError(
                f"{self.owner()}: the file's factors have {self.item_factors_.shape[1]} "
                f"columns but n_factors={self.params.n_factors}"
            )


def _factors(frame: Any, n_rows: int, n_factors: int) -> np.ndarray:
    """Spark's (id, features) factor DataFrame as a dense array (rows Spark never saw: 0)."""
    table = frame.toArrow()
    out = np.zeros((n_rows, n_factors), dtype=np.float32)
    if table.num_rows:
        ids = table.column("id").to_numpy()
        feats = table.column("features").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        out[ids] = np.asarray(feats, dtype=np.float32).reshape(len(ids), n_factors)
    return out


def _implicit_fold_in(
    history: sp.csr_matrix, item_factors: np.ndarray, reg: float, alpha: float
) -> np.ndarray:
    """Spark's implicit half-step: `confidence_fold_in` with ``reg`` times the user's number of
    positive interactions."""
    counts = np.diff(history.indptr)
    return confidence_fold_in(history, item_factors, reg=reg * counts, alpha=alpha)


def _nonnegative_fold_in(
    history: sp.csr_matrix, item_factors: np.ndarray, p: SparkALSParams, mu: float
) -> np.ndarray:
    """Spark's NNLS half-step, min xᵀAx - 2bᵀx over x >= 0 per user, by the core's one
    non-negative solve (`nonnegative_solve`): explicit ``A = YᵤᵀYᵤ + λ n_u I``,
    ``b = Yᵤᵀ(r - mu)``; implicit ``A = YᵀY + Yᵤᵀ(Cᵤ - I)Yᵤ + λ n_u I``, ``b = YᵤᵀCᵤ p``."""
    y = np.asarray(item_factors, dtype=np.float64)
    vals = history.data.astype(np.float64)
    reg = p.reg * np.diff(history.indptr)
    if not p.implicit_prefs:
        return nonnegative_solve(history, y, reg=reg, targets=vals - mu)
    c = confidence(np.abs(vals), p.alpha)
    return nonnegative_solve(
        history, y, reg=reg, gram=y.T @ y, weights=c - 1.0, targets=c * (vals > 0)
    )
