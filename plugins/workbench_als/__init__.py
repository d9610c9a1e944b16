"""Built-in plugin: alternating least squares (numba kernels, one batched call per half-step).

- ``als`` (aliases ``explicit-als``, ``biased-als``): biased MF of explicit ratings with
  count-weighted regularisation (weighted lambda, Zhou et al. 2008, or softer); predicts
  ratings.
- ``ials`` (aliases ``implicit-als``, ``wmf``): confidence-weighted ALS for implicit feedback
  (Hu, Koren and Volinsky 2008), conjugate gradient or Cholesky; ranks items.

The model modules (and numba) are imported inside the hook, so listing plugins stays fast.
"""

from __future__ import annotations

from workbench import hookimpl


@hookimpl
def register_models(register):
    from workbench_als.models import ALS, ImplicitALS

    register(ALS, aliases=["explicit-als", "biased-als"])
    register(ImplicitALS, aliases=["implicit-als", "wmf"])
