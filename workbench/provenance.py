"""Where a dataset's interactions came from, as typed data on `Interactions.provenance`.

A dataset plugin fills what only it knows (the file or folder it read, a fold-id column);
the core loader adds the dataset spec the data was loaded from. The data's fingerprint is
`Interactions.fingerprint`, computed on first use (a run's metadata) and cached.
Derived data (a subset, data re-expressed in another id space) keeps only the location:
the spec and per-row fold labels describe the data as loaded, not a part of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FoldColumn:
    """Predefined fold ids, one per interaction (read-only), and the column they came from."""

    name: str
    labels: np.ndarray

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels).view()
        labels.flags.writeable = False
        object.__setattr__(self, "labels", labels)


@dataclass(frozen=True)
class Provenance:
    """Where interactions came from.

    - ``spec``: the dataset spec they were loaded from (a spec string or a mapping with a
      ``name``, as JSON), so a run can load them again; None for data built in code.
    - ``path``: the file, folder or zip archive read (``member``: the file inside an archive),
      where files that come with the data are found (e.g. MovieLens' ``u1.base``/``u1.test``).
    - ``folds``: a predefined fold-id column, read with the data (``tabular fold=COLUMN``).
    - ``preparation``: the steps applied after reading (time window, rating threshold,
      k-core, sampled users), each a mapping with its options and the rows, users and
      items left; None when the data is as read.
    """

    spec: Any = None
    path: Path | None = None
    member: str | None = None
    folds: FoldColumn | None = None
    preparation: tuple[dict[str, Any], ...] | None = None

    def of_part(self) -> Provenance:
        """What a part of the data (or the data re-expressed) keeps: the location only."""
        return Provenance(path=self.path, member=self.member)
