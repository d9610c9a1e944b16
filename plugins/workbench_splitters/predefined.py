"""Predefined folds: from a fold-id column, or from train/test file pairs (u1.base/u1.test)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import Field

from workbench.data import Interactions
from workbench.errors import DataError, ParamError
from workbench.fileio.files import FileRef, sniff_compression, zip_members
from workbench.params import Params
from workbench.provenance import FoldColumn
from workbench.splits import Split, Splitter
from workbench_splitters.base import make_split

_ML100K = ("u{fold}.base", "u{fold}.test")


class PredefinedParams(Params):
    column: str | None = Field(
        None,
        description="the fold-id column read with the data (tabular ... fold=COLUMN); "
        "default: the one the data has",
    )
    train: str | None = Field(None, description="train file pattern with {fold}, e.g. u{fold}.base")
    test: str | None = Field(None, description="test file pattern with {fold}, e.g. u{fold}.test")
    dir: str | None = Field(
        None, description="folder or zip archive holding the files (default: the dataset's own)"
    )
    folds: list[str] | str | None = Field(
        None, description="which folds, e.g. 1,2,3 (default: every one found)"
    )


def _listing(root: Path) -> list[tuple[str, FileRef]]:
    """(relative posix path, FileRef) of files in a folder (2 levels) or a zip archive."""
    if root.is_file():
        with open(root, "rb") as fh:
            if sniff_compression(fh.read(8)) != "zip":
                root = root.parent
            else:
                return [(m, FileRef(root, m)) for m in zip_members(root)]
    if not root.is_dir():
        raise DataError(f"predefined: no such folder or archive: {str(root)!r}")
    out = []
    for pattern in ("*", "*/*"):
        out += [(p.relative_to(root).as_posix(), FileRef(p)) for p in sorted(root.glob(pattern))]
    return [(name, ref) for name, ref in out if ref.path.is_file()]


def _pattern(template: str, fold: str | None) -> re.Pattern[str]:
    if "{fold}" not in template:
        raise ParamError(f"splitter 'predefined': pattern {template!r} has no {{fold}}")
    head, _, tail = template.partition("{fold}")
    group = re.escape(fold) if fold is not None else r"\d+"
    return re.compile(r"(?:^|.*/)" + re.escape(head) + f"(?P<fold>{group})" + re.escape(tail) + "$")


def _pair_rows(data: Interactions, ref: FileRef) -> np.ndarray:
    """Row indices of ``data`` for the (user, item) pairs listed in the file ``ref``."""
    from workbench.fileio.textfile import id_column, read_columns, resolve_roles, row_error, sniff

    layout = sniff(ref)
    roles = resolve_roles(layout, {}, kind="implicit").positions
    cols, n_rows = read_columns(layout, [roles["user"], roles["item"]])
    if n_rows == 0:
        raise DataError(f"{layout.ref.display}: no data rows")
    users = id_column(layout, cols[roles["user"]], "user")
    items = id_column(layout, cols[roles["item"]], "item")
    u = data.users.index_of(users, missing="minus1")
    i = data.items.index_of(items, missing="minus1")
    for idx, ids, what in ((u, users, "user"), (i, items, "item")):
        if (idx < 0).any():
            row = int(np.flatnonzero(idx < 0)[0])
            value = ids[row].item() if isinstance(ids[row], np.generic) else ids[row]
            raise row_error(layout, row, f"{what} {value!r} is not in dataset '{data.name}'")
    n_items = max(data.n_items, 1)
    keys = u * n_items + i
    data_keys = data.user.astype(np.int64) * n_items + data.item
    order = np.argsort(data_keys, kind="stable")
    sorted_keys = data_keys[order]
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    missing = sorted_keys[at] != keys
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise row_error(
            layout, row, f"the pair ({users[row]}, {items[row]}) is not in dataset '{data.name}'"
        )
    return order[at]


class Predefined(Splitter):
    """Folds given with the data: a fold-id column, or train/test file pairs.

    File pairs such as MovieLens-100k's u1.base/u1.test ... u5 are found by pattern
    (train=u{fold}.base test=u{fold}.test, the default when the dataset's folder has them)
    in dir= or the dataset's own folder/archive; their (user, item) pairs are located in the
    dataset, so every fold shares its id maps. With a fold column, fold f's rows are the
    test set and all other rows train.
    """

    name: ClassVar[str] = "predefined"
    Params: ClassVar[type[Params]] = PredefinedParams

    def _folds_wanted(self) -> list[str] | None:
        folds = self.params.folds
        if folds is None:
            return None
        return [f.strip() for f in folds.split(",")] if isinstance(folds, str) else list(folds)

    def _root(self, data: Interactions | None) -> Path | None:
        if self.params.dir is not None:
            return Path(os.path.expanduser(self.params.dir))
        if data is None:
            return None
        return data.provenance.path  # the data's file, folder or archive

    def _fold_column(self, data: Interactions | None) -> FoldColumn | None:
        """The fold ids read with ``data`` (the one named by column=, if given)."""
        folds = None if data is None else data.provenance.folds
        wanted = self.params.column
        if folds is not None and wanted is not None and folds.name != wanted:
            raise DataError(
                f"predefined: dataset '{data.name}' has fold ids from column "  # type: ignore[union-attr]
                f"{folds.name!r}, not {wanted!r}"
            )
        return folds

    def file_pairs(self, data: Interactions | None) -> list[tuple[str, FileRef, FileRef]] | None:
        """(fold label, train FileRef, test FileRef) for every fold, or None if not file-based."""
        p = self.params
        root = self._root(data)
        if p.train is None and p.test is None:
            if self._fold_column(data) is not None:
                return None
            if root is None:
                return None
            templates = _ML100K
        else:
            if p.train is None or p.test is None:
                raise ParamError("splitter 'predefined': give both train= and test= patterns")
            templates = (p.train, p.test)
        if root is None:
            raise ParamError("splitter 'predefined': give dir= (the folder holding the files)")
        listing = _listing(root)
        wanted = self._folds_wanted()
        pairs = []
        for fold in wanted or [None]:
            found: dict[str, dict[int, FileRef]] = {}
            for side, template in enumerate(templates):
                regex = _pattern(template, fold)
                for name, ref in listing:
                    m = regex.match(name)
                    if m:
                        found.setdefault(m.group("fold"), {})[side] = ref
            if fold is not None and fold not in found:
                raise DataError(
                    f"predefined: no files for fold {fold!r} ({templates[0]}) in {root}"
                )
            for label, sides in found.items():
                if len(sides) < 2:
                    missing = templates[1 - next(iter(sides))].replace("{fold}", label)
                    raise DataError(f"predefined: {missing} is missing in {root}")
                pairs.append((label, sides[0], sides[1]))
        if not pairs:
            if p.train is None:
                return None
            raise DataError(f"predefined: no files match {templates[0]!r} in {root}")
        pairs.sort(key=lambda t: (len(t[0]), t[0]))
        return pairs

    def split(self, data: Interactions) -> Iterator[Split]:
        pairs = self.file_pairs(data)
        if pairs is not None:
            n = len(pairs)
            for f, (_, train_ref, test_ref) in enumerate(pairs):
                train = np.zeros(len(data), dtype=bool)
                test = np.zeros(len(data), dtype=bool)
                train[_pair_rows(data, train_ref)] = True
                test[_pair_rows(data, test_ref)] = True
                yield make_split(data, test, train=train, fold=f, n_folds=n, what=self.name)
            return
        folds = self._fold_column(data)
        if folds is None:
            raise DataError(
                f"predefined: dataset '{data.name}' has no fold ids and no train/test files; "
                "load it with fold=COLUMN, or give train= and test= patterns"
            )
        labels = folds.labels
        wanted = self._folds_wanted()
        folds = list(np.unique(labels))
        if wanted is not None:
            as_text = {str(f): f for f in folds}
            missing = [w for w in wanted if w not in as_text]
            if missing:
                raise DataError(f"predefined: no rows with fold {missing[0]!r}")
            folds = [as_text[w] for w in wanted]
        for f, label in enumerate(folds):
            yield make_split(data, labels == label, fold=f, n_folds=len(folds), what=self.name)

    def n_splits(self, data: Interactions | None = None) -> int:
        wanted = self._folds_wanted()
        if wanted is not None:
            return len(wanted)
        pairs = self.file_pairs(data) if (data is not None or self.params.dir) else None
        if pairs is not None:
            return len(pairs)
        folds = self._fold_column(data)
        if folds is not None:
            return len(np.unique(folds.labels))
        raise ParamError(
            "splitter 'predefined': the number of folds is known once the data is given "
            "(n_splits(data)), or with folds=..."
        )
