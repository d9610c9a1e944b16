"""Built-in plugin: non-negative matrix factorisation, in both senses the field uses.

- ``nmf`` (alias ``sklearn-nmf``): scikit-learn's NMF of the zero-filled users x items matrix,
  for top-N; user clusters and component top items (``workbench clusters``).
- ``nmf-observed`` (aliases ``surprise-nmf``, ``nmf-ratings``): NMF of the observed ratings
  only, for rating prediction.
"""

from __future__ import annotations

from workbench import hookimpl


@hookimpl
def register_models(register):
    from workbench_nmf.models import NMF, ObservedNMF

    register(NMF, aliases=["sklearn-nmf"])
    register(ObservedNMF, aliases=["surprise-nmf", "nmf-ratings"])


@hookimpl
def register_commands(app, kit):
    from workbench_nmf.cli import register

    register(app, kit)
