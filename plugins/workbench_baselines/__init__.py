"""Built-in plugin: the simple rating and popularity baselines every comparison needs,
so that an MF model is always shown next to what it must beat.

- ``global-mean`` (alias ``mean``): the mean training rating for everything.
- ``biases`` (aliases ``baseline``, ``baseline-only``): mu + b_u + b_i fitted by ALS or SGD.
- ``popularity`` (alias ``most-popular``): items ranked by their number of training
  interactions.
- ``knn-baseline`` (alias ``knnbaseline``): Surprise's KNNBaseline, item- or user-based
  neighbours on top of the baselines (`workbench_baselines.neighbours`).
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

    register(KNNBaseline, aliases=["knnbaseline"])
    register(SlopeOne, aliases=["slopeone"])
