"""Built-in plugin: the simple rating and popularity baselines every comparison needs,
so that an MF model is always shown next to what it must beat.

- ``global-mean`` (alias ``mean``): the mean training rating for everything.
- ``biases`` (aliases ``baseline``, ``baseline-only``): mu + b_u + b_i fitted by ALS or SGD.
- ``popularity`` (alias ``most-popular``): items ranked by their number of training
  interactions.
- ``knnbaseline`` (alias ``rating-knn``): Surprise's KNNBaseline, item- or user-based
  neighbours on top of the baselines (`workbench_baselines.neighbours`); the alias
  ``knn-baseline`` belongs to the example plugin's item-knn.
- ``slope-one`` (alias ``slopeone``): Slope One as Surprise's SlopeOne (or weighted).

Model modules are imported inside the hook, so listing plugins stays fast.
"""

from __future__ import annotations

from workbench import hookimpl


@hookimpl
def register_models(register):
    from workbench_baselines.models import Biases, GlobalMean, Popularity

    register(GlobalMean, aliases=["mean"])
    register(Biases, aliases=["baseline", "baseline-only"])
    register(Popularity, aliases=["most-popular"])

    from workbench_baselines.neighbours import KNNBaseline, SlopeOne

    register(KNNBaseline, aliases=["rating-knn"])
    register(SlopeOne, aliases=["slopeone"])
