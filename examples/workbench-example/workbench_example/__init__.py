"""workbench-example: a complete third-party plugin for recsys-workbench, installed from
its own distribution exactly as anyone else's would be.

It registers one thing of four kinds, exactly as a built-in plugin does:

- model ``item-knn``: item-based k-nearest-neighbours with baseline (`workbench_example.knn`)
- metric ``gini``: Gini index of item exposure in the top-k lists (`workbench_example.metric`)
- dataset ``boardgames``: a small ratings file shipped as package data
- exporter ``latex``: a booktabs table for papers (`workbench_example.latex`)

The hooks import their modules lazily, so ``workbench plugins`` and ``--help`` stay fast.
"""

from workbench import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_models(register):
    from workbench_example.knn import ItemKNN

    register(ItemKNN, aliases=["knn-baseline"])


@hookimpl
def register_metrics(register):
    from workbench_example.metric import Gini

    register(Gini)


@hookimpl
def register_datasets(register):
    from workbench_example.dataset import BoardGames

    register(BoardGames)


@hookimpl
def register_exporters(register):
    from workbench_example.latex import LatexTable

    register(LatexTable, aliases=["tex"])
