"""Built-in plugin: models trained by stochastic gradient descent (numba-compiled loops).

- ``sgd`` (aliases ``funk-svd``, ``biased-mf``, ``svd``): biased matrix factorisation.
- ``svdpp`` (alias ``svd++``): SVD++, factors plus implicit feedback from the rated items.
- ``kernel-mf`` (alias ``kernelmf``): kernel matrix factorisation (linear, sigmoid, rbf).
- ``timesvdpp`` (alias ``timesvd++``): timeSVD++, SVD++ with time-dependent biases.
- ``timebiases``: the time-dependent biases alone.
- ``svdpp-attr`` (alias ``svd++-attr``): SVD++ with user/item attributes (side information).

The model modules (and numba) are imported inside the hook, so listing plugins stays fast.
"""

from __future__ import annotations

from workbench import hookimpl


@hookimpl
def register_models(register):
    from workbench_sgd.biased import BiasedMF
    from workbench_sgd.kernel_mf import KernelMF
    from workbench_sgd.svdpp import SVDpp
    from workbench_sgd.timesvdpp import SVDppAttr, TimeBiases, TimeSVDpp

    register(BiasedMF, aliases=["funk-svd", "biased-mf", "svd"])
    register(SVDpp, aliases=["svd++"])
    register(KernelMF, aliases=["kernelmf"])
    register(TimeSVDpp, aliases=["timesvd++"])
    register(TimeBiases)
    register(SVDppAttr, aliases=["svd++-attr"])
