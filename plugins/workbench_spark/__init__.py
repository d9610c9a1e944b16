"""Built-in plugin: Spark MLlib's ALS as a workbench model (optional dependency group ``spark``).

- ``spark-als`` (alias ``mllib-als``): `pyspark.ml.recommendation.ALS`, explicit ratings or
  implicit feedback (``implicit_prefs``), on ``local[*]``, any master URL or an existing
  `SparkSession` (`use_session`: models look their session up, never keep one); factors are
  collected after training, so predictions, fold-in, save and load need no Spark, while top-N
  ranking runs in Spark (the `_rank` hook).

Without pyspark or a Java runtime the plugin shows as *unavailable* with the install hint
(`workbench plugins`); nothing here imports pyspark until a model is trained.
"""

from __future__ import annotations

from workbench import hookimpl
from workbench_spark.session import use_session

__all__ = ["use_session"]


@hookimpl
def register_models(register):
    from workbench_spark.model import SparkALS
    from workbench_spark.session import check_dependencies

    # Registered first so that `--model spark-als` names this plugin and its install hint
    # when a dependency is missing (the registration is rolled back by the raise below).
    register(SparkALS, aliases=["mllib-als"])
    check_dependencies()
