"""Cluster backends for compare and tune: ``dask`` (a dask.distributed scheduler) and ``ray``.

The plugin always loads; each backend needs its optional package only when it is used
(``pip install 'recsys-workbench[dask]'`` / ``[ray]``) and says so with that hint. See
`workbench_cluster.backends` and docs/scaling.md.
"""

from __future__ import annotations

from workbench import hookimpl


@hookimpl
def register_backends(register):
    from workbench_cluster.backends import Dask, Ray

    register(Dask)
    register(Ray)
