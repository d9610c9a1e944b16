"""Built-in plugin: models trained by stochastic gradient descent (numba-compiled loops).

- ``sgd`` (aliases ``funk-svd``, ``biased-mf``): biased matrix factorisation.
- ``svdpp`` (alias ``svd++``): SVD++, factors plus implicit feedback from the rated items.
- ``kernel-mf`` (alias ``kernelmf``): kernel matrix factorisation (linear, sigmoid, rbf).

The model modules (and numba) are imported inside the hook, so listing plugins stays fast.
"""

from __future__ import annotations

from workbench import hookimpl


@hookimpl
def register_models(register):
    from workbench_sgd.biased import BiasedMF
    from workbench_sgd.kernel_mf import KernelMF
    from workbench_sgd.svdpp import SVDpp

    register(BiasedMF, aliases=["funk-svd", "biased-mf"])
    register(SVDpp, aliases=["svd++"])
    register(KernelMF, aliases=["kernelmf"])
