"""Load a dataset or build a splitter from a spec: the one data-loading path.

>>> data = load_dataset("movielens variant=100k")
>>> data = load_dataset({"name": "tabular", "path": "ratings.dat", "sep": "::"})
>>> data = load_dataset("ratings.csv")          # an existing file: the dataset that reads files
>>> splitter = make_splitter("kfold n_folds=5 seed=1")

A spec is parsed once (`dataset_spec`); the loaded `Interactions` carry it in their
`~workbench.provenance.Provenance`, so a run records how to load them again without a side
channel (their fingerprint, `Interactions.fingerprint`, is computed when a run first asks).
Which dataset is used when none is named, and which one reads a bare file path, is declared
by plugins (``register(..., default=True)`` and ``default="files"``), not named here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from workbench.data import Interactions
from workbench.dataset import Dataset
from workbench.errors import DataError, UnknownNameError
from workbench.jsonvalues import normalise
from workbench.plugins import get_registry
from workbench.specs import Spec, parse_spec
from workbench.splits import Splitter


def default_dataset() -> str:
    """The name of the dataset used when none is named (declared by a plugin)."""
    return get_registry().default("dataset")


def dataset_spec(spec: str | Mapping[str, Any] | None = None, **options: Any) -> Spec:
    """Parse a dataset spec (None: the default dataset); a bare path to an existing file or
    folder means the dataset that reads files, with ``path=FILE``; ``NAME:SUBSET`` means
    dataset NAME with ``subset=SUBSET`` (``amazon-2018:Books``)."""
    parsed = parse_spec("dataset", default_dataset() if spec is None else spec)
    params = {**parsed.params, **options}
    registry = get_registry()
    try:
        entry = registry.entry("dataset", parsed.name)
    except UnknownNameError as exc:
        name, sep, subset = parsed.name.partition(":")
        if (
            sep and subset and name in registry.names("dataset") and not os.path.exists(parsed.name)
        ):  # NAME:SUBSET, e.g. amazon-2018:Books
            return Spec("dataset", name, {"subset": subset, **params}, parsed.text)
        if looks_like_path(parsed.name):  # a folder, or a missing file (did you mean)
            reader = registry.default("dataset", "files")
            return Spec("dataset", reader, {"path": parsed.name, **params}, parsed.text)
        hint = _movielens_hint(parsed.name)
        if hint:
            raise UnknownNameError(f"unknown dataset {parsed.name!r}: {hint}") from exc
        raise
    if "name" in params and "label" in entry.obj.Params.model_fields:
        params = _old_name_option(entry.name, params)
    return Spec("dataset", parsed.name, params, parsed.text)


#: Release words other tools use for MovieLens (``ml-100k``, ``ml_1m``, ``movielens-20m``).
_MOVIELENS_WORD = re.compile(r"(?:ml|movielens)[-_]?(100k|1m|10m|20m|25m|latest-small)", re.I)


def _movielens_hint(name: str) -> str | None:
    """ "Did you mean" for another tool's word for a MovieLens release (not a path)."""
    word = _MOVIELENS_WORD.fullmatch(name)
    if word is None:
        return None
    release = f"ml-{word.group(1).lower()}"
    if release in get_registry().names("dataset"):  # the catalogue's word for that release
        return f'did you mean "{release}" (fetched and cached) or "movielens path=FOLDER"?'
    return (
        f'did you mean "movielens variant={word.group(1).lower()} path=FOLDER" '
        "(the folder holding u.data, ratings.dat or ratings.csv)?"
    )


def _old_name_option(dataset: str, params: dict[str, Any]) -> dict[str, Any]:
    """``"tabular path=F name=X"``: ``name=`` was the option ``label=`` before it collided with
    the dataset's name; it still works, with a warning naming the replacement."""
    import warnings

    from workbench.errors import WorkbenchWarning

    warnings.warn(
        f"{dataset} option name= is deprecated: use label= (the dataset's name in reports)",
        WorkbenchWarning,
        stacklevel=3,
    )
    return {"label" if k == "name" else k: v for k, v in params.items()}


def read_file(path: str | os.PathLike[str], **options: Any) -> Interactions:
    """A data file, read by the dataset a plugin declares for files (``default="files"``)."""
    reader = get_registry().default("dataset", "files")
    return load_dataset({"name": reader, "path": str(path), **options})


def _request(spec: str | Mapping[str, Any] | None, parsed: Spec, options: Mapping[str, Any]):
    """The spec as the user gave it (JSON), to load the same data again from run metadata."""
    if spec is None or options:
        return normalise({"name": parsed.name, **parsed.params})
    return normalise(spec)


#: File name endings that mark a dataset spec as a path even without a folder in it.
_DATA_SUFFIXES = (
    ".csv", ".tsv", ".txt", ".dat", ".data", ".tab", ".psv", ".parquet", ".pq",
    ".gz", ".bz2", ".xz", ".zip", ".zst",
)  # fmt: skip


def looks_like_path(name: str) -> bool:
    """An existing file or folder, or text shaped like a path (a folder separator,
    ``~``, ``.``, or a data-file ending such as ``.csv``): no dataset plugin is named so."""
    if os.path.lexists(os.path.expanduser(name)):
        return True  # a file, folder, pipe or device, or a broken or looping link
    return (
        "/" in name
        or os.sep in name
        or name.startswith(("~", "."))
        or name.lower().endswith(_DATA_SUFFIXES)
    )


def make_dataset(spec: str | Mapping[str, Any] | Dataset | None = None, **options: Any) -> Dataset:
    """A `Dataset` from a spec (``"name key=value ..."``, a mapping, or an instance)."""
    if isinstance(spec, Dataset):
        return spec.set_params(**options) if options else spec
    return dataset_spec(spec, **options).build()


def load_dataset(
    spec: str | Mapping[str, Any] | Dataset | Interactions | None = None, **options: Any
) -> Interactions:
    """Load the interactions a dataset spec names (None: the default dataset; `Interactions`
    pass through). The result's ``provenance`` records the spec."""
    if isinstance(spec, Interactions):
        return spec
    if isinstance(spec, Dataset):
        dataset = make_dataset(spec, **options)
        request = normalise({"name": spec.name, **spec.get_params()})
    else:
        parsed = dataset_spec(spec, **options)
        dataset = parsed.build()
        request = _request(spec, parsed, options)
    try:
        data = dataset.load()
    except MemoryError:
        pass  # raised below, outside the handler: its traceback holds what was read
    else:
        return data.with_provenance(spec=request)
    raise DataError(f"dataset {dataset.name!r}: {_out_of_memory()}")


def _out_of_memory() -> str:
    from workbench.fileio.datalimits import memory_available, size_text

    available = memory_available()
    may_use = f" (this process may use {size_text(available)})" if available else ""
    return (
        f"ran out of memory while loading it{may_use}; free memory, raise the memory "
        "limit, or load less data"
    )


def make_splitter(
    spec: str | Mapping[str, Any] | Splitter | None = None, **options: Any
) -> Splitter:
    """A `Splitter` from a spec such as ``"kfold n_folds=5"`` (or an instance; None: the
    default split a plugin declares)."""
    if isinstance(spec, Splitter):
        return spec.set_params(**options) if options else spec
    if spec is None:
        spec = get_registry().default("splitter")
    parsed = parse_spec("splitter", spec)
    return parsed.build(**options)
