"""Load a dataset or build a splitter from a spec: thin wrappers over the registry.

>>> data = load_dataset("movielens variant=100k")
>>> data = load_dataset({"name": "tabular", "path": "ratings.dat", "sep": "::"})
>>> data = load_dataset("ratings.csv")          # an existing file: the tabular dataset
>>> splitter = make_splitter("kfold n_folds=5 seed=1")
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from workbench.data import Interactions
from workbench.dataset import Dataset
from workbench.errors import UnknownNameError
from workbench.specs import Spec, parse_spec
from workbench.splits import Splitter

#: The dataset used when none is named.
DEFAULT_DATASET = "synthetic"


def dataset_spec(spec: str | Mapping[str, Any], **options: Any) -> Spec:
    """Parse a dataset spec; a bare path to an existing file means ``tabular path=FILE``."""
    from workbench.plugins import get_registry

    parsed = parse_spec("dataset", spec)
    params = {**parsed.params, **options}
    try:
        get_registry().entry("dataset", parsed.name)
    except UnknownNameError:
        if os.path.isfile(os.path.expanduser(parsed.name)):
            return Spec("dataset", "tabular", {"path": parsed.name, **params}, parsed.text)
        raise
    return Spec("dataset", parsed.name, params, parsed.text)


def make_dataset(spec: str | Mapping[str, Any] | Dataset, **options: Any) -> Dataset:
    """A `Dataset` from a spec (``"name key=value ..."``, a mapping, or an instance)."""
    if isinstance(spec, Dataset):
        return spec.set_params(**options) if options else spec
    return dataset_spec(spec, **options).build()


def load_dataset(
    spec: str | Mapping[str, Any] | Dataset | Interactions = DEFAULT_DATASET, **options: Any
) -> Interactions:
    """Load the interactions a dataset spec names (an `Interactions` passes through)."""
    if isinstance(spec, Interactions):
        return spec
    return make_dataset(spec, **options).load()


def make_splitter(spec: str | Mapping[str, Any] | Splitter, **options: Any) -> Splitter:
    """A `Splitter` from a spec such as ``"kfold n_folds=5"`` (or an instance)."""
    if isinstance(spec, Splitter):
        return spec.set_params(**options) if options else spec
    parsed = parse_spec("splitter", spec)
    return parsed.build(**options)
